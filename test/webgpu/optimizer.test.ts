/**
 * The fused WGSL AdamW and gradient norm (engine/webgpu/optimizer.ts) against the tfjs op chains
 * they replace, both on webgpu. Skips, saying why, where no WebGPU adapter exists.
 */
import { describe, expect, it } from 'vitest';
import { startBackend } from '../../src/main/engine/backends/start';
import { noKernels, type Kernels } from '../../src/main/engine/kernels';
import { AdamW, TRAINER_ADAMW, type OptimizedParam } from '../../src/main/engine/optimizer';
import { tf } from '../../src/main/engine/tf';
import { fusedDispatches } from '../../src/main/engine/webgpu/runner';
import { maxAbsDiff } from '../helpers/engine';
import { Rng } from '../../src/main/engine/rng';
import { loadModelFolder } from '../../src/main/engine/load';
import { batchTensors, disposeBatch, padRows } from '../../src/main/engine/batch';
import { ForwardContext } from '../../src/main/engine/models/layers';
import { Stepper } from '../../src/main/engine/step';
import { fixtureDir } from '../helpers/reference';

const started = await startBackend('webgpu').then(
  (s) => ({ ok: true as const, kernels: s.kernels }),
  (err: Error) => ({ ok: false as const, reason: err.message.split('\n')[0]! }),
);
const title = started.ok ? 'fused AdamW and gradient norm on webgpu' : `fused AdamW and gradient norm on webgpu (skipped: ${started.reason})`;

// Sizes around the kernels' chunking (256 values a thread, 64 threads a group), and one past 65535 groups' worth is not needed here.
const SHAPES = [[1], [7], [256], [257, 3], [64, 129], [1000, 70], [3, 5, 11]];

function randoms(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

let made = 0;
function makeParams(rng: Rng): { params: OptimizedParam[]; grads: Map<string, tf.Tensor> } {
  const params: OptimizedParam[] = [];
  const grads = new Map<string, tf.Tensor>();
  SHAPES.forEach((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const name = `p${i}`;
    params.push({ name, variable: tf.tidy(() => tf.variable(tf.tensor(randoms(rng, n, 0.5), shape), true, `opt-test-${made++}`)), decay: i % 2 === 0 });
    grads.set(name, tf.tensor(randoms(rng, n, 0.01 * (i + 1)), shape));
  });
  return { params, grads };
}

describe.skipIf(!started.ok)(title, () => {
  const fused = (started.ok ? started.kernels : noKernels('webgpu')) as Kernels;
  const chain = noKernels('webgpu');

  it('uses the fused kernels (FINETUNE_WEBGPU_FUSED defaults to on)', () => {
    expect(fused.adamwTensors, 'the webgpu backend started without the fused AdamW').toBeTypeOf('function');
    expect(fused.sumOfSquaresTensors).toBeTypeOf('function');
  });

  it('three AdamW steps equal the tfjs chain (parameters, m and v within 1e-6), one dispatch a parameter, no leaks', async () => {
    const a = makeParams(new Rng(3));
    const b = makeParams(new Rng(3));
    const options = { ...TRAINER_ADAMW, weightDecay: 0.01 };
    const optA = new AdamW(a.params, options, fused);
    const optB = new AdamW(b.params, options, chain);
    const tensors = tf.memory().numTensors + 1;
    const coefs = [1, 0.37, 0.9];
    // A clone shares parameter 3's data: the update must leave it as it was (the out-of-place path).
    const clone = tf.clone(a.params[3]!.variable);
    const cloneBefore = Float32Array.from(await clone.data());
    const dataIds = a.params.map((p) => p.variable.dataId);
    for (let s = 0; s < 3; s++) {
      const d = fusedDispatches();
      if (s === 1) clone.dispose();
      // Reading caches the values on the CPU (tfjs); an in-place update must not leave that cache stale.
      if (s === 1) {
        await optA.prefetchMoments('webgpu');
        await Promise.all(a.params.map((p) => p.variable.data()));
      }
      optA.apply(a.grads, 1e-3 * (s + 1), coefs[s]!);
      if (s === 0) expect(Array.from(await clone.data())).toEqual(Array.from(cloneBefore));
      // In place (the same buffers) wherever no clone shares the data.
      a.params.forEach((p, i) => {
        if (i !== 3 || s > 0) expect(p.variable.dataId, `parameter ${i} got a new buffer in step ${s}`).toBe(dataIds[i]);
      });
      if (s === 0) dataIds[3] = a.params[3]!.variable.dataId;
      expect(fusedDispatches() - d).toBe(SHAPES.length);
      optB.apply(b.grads, 1e-3 * (s + 1), coefs[s]!);
      expect(tf.memory().numTensors).toBe(s === 0 ? tensors : tensors - 1);
    }
    let worst = 0;
    let identical = 0;
    let total = 0;
    for (let i = 0; i < a.params.length; i++) {
      const pa = await a.params[i]!.variable.data();
      const pb = await b.params[i]!.variable.data();
      const start = await b.grads.get(`p${i}`)!.data();
      expect(pa.length).toBe(start.length);
      worst = Math.max(worst, maxAbsDiff(pa, pb));
      for (let j = 0; j < pa.length; j++) identical += pa[j] === pb[j] ? 1 : 0;
      total += pa.length;
    }
    await optA.prefetchMoments('webgpu');
    await optB.prefetchMoments('webgpu');
    const ma = optA.moments();
    const mb = optB.moments();
    for (const [name, { m, v }] of mb) {
      worst = Math.max(worst, maxAbsDiff(ma.get(name)!.m, m), maxAbsDiff(ma.get(name)!.v, v));
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
    // Not a bound, a figure: how many parameters came out bit-identical.
    console.log(`fused AdamW vs tfjs chain: max |diff| ${worst.toExponential(2)}, ${identical} of ${total} values bit-identical`);
    // The update moved the parameters (the comparison above is not between two no-ops).
    const p0 = await a.params[5]!.variable.data();
    const init = makeParams(new Rng(3));
    expect(maxAbsDiff(p0, await init.params[5]!.variable.data())).toBeGreaterThan(1e-4);
    for (const set of [a, b, init]) {
      set.params.forEach((p) => p.variable.dispose());
      set.grads.forEach((g) => g.dispose());
    }
    optA.dispose();
    optB.dispose();
  });

  it('a training step updates the model in place: no parameter or moment gets a new buffer', async () => {
    const loaded = await loadModelFolder(fixtureDir('bert'));
    const rows = [{ ids: [2, 10, 11, 12, 3] }, { ids: [2, 13, 14, 3] }];
    const batch = { tensors: batchTensors(padRows(rows, loaded.tokenizer.padId), loaded.model.config), labels: Int32Array.from([0, 1]) };
    const stepper = new Stepper(loaded.model, { weightDecay: 0.01, maxGradNorm: 1 }, fused);
    await stepper.stepAsync([batch], [new ForwardContext(true, 1, fused)], 1e-3);
    const names = loaded.model.store.names();
    const before = names.map((n) => loaded.model.store.get(n).dataId);
    const d = fusedDispatches();
    await stepper.stepAsync([batch], [new ForwardContext(true, 2, fused)], 1e-3);
    expect(fusedDispatches() - d).toBeGreaterThan(names.length);
    names.forEach((n, i) => expect(loaded.model.store.get(n).dataId, n).toBe(before[i]));
    stepper.dispose();
    disposeBatch(batch.tensors);
    loaded.model.store.dispose();
  });

  it('the gradient norm equals the tfjs chain (relative 1e-6), in few dispatches', async () => {
    const { params, grads } = makeParams(new Rng(5));
    // A large gradient too, so the partial sums take more than one reduction pass.
    grads.set('big', tf.tensor(randoms(new Rng(9), 300_001, 0.02), [300_001]));
    params.push({ name: 'big', variable: tf.variable(tf.zeros([300_001]), true, `opt-test-${made++}`), decay: true });
    const optA = new AdamW(params, { ...TRAINER_ADAMW, weightDecay: 0 }, fused);
    const optB = new AdamW(params, { ...TRAINER_ADAMW, weightDecay: 0 }, chain);
    const d = fusedDispatches();
    const x = await optA.clipAsync(grads, 1);
    const dispatches = fusedDispatches() - d;
    const y = await optB.clipAsync(grads, 1);
    // Exact in double from the host values, as a third opinion.
    let exact = 0;
    for (const g of grads.values()) for (const v of await g.data()) exact += v * v;
    expect(Math.abs(x.gradNorm - y.gradNorm) / y.gradNorm).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(x.gradNorm - Math.sqrt(exact)) / Math.sqrt(exact)).toBeLessThanOrEqual(1e-6);
    expect(x.clipCoef).toBeCloseTo(y.clipCoef, 6);
    expect(dispatches).toBeGreaterThan(0);
    expect(dispatches).toBeLessThan(params.length);
    params.forEach((p) => p.variable.dispose());
    grads.forEach((g) => g.dispose());
    optA.dispose();
    optB.dispose();
  });
});
