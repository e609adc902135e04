/**
 * The fused WGSL ops (engine/webgpu/ops.ts) against the tfjs op chains they replace (engine
 * ops.ts with no kernels), both on webgpu: values and gradients. Skips, saying why, where no
 * WebGPU adapter exists.
 */
import { describe, expect, it } from 'vitest';
import { startBackend } from '../../src/main/engine/backends/start';
import { noKernels, type Kernels } from '../../src/main/engine/kernels';
import * as ops from '../../src/main/engine/ops';
import { tf } from '../../src/main/engine/tf';
import { fusedDispatches } from '../../src/main/engine/webgpu/runner';
import { Rng } from '../../src/main/engine/rng';

const started = await startBackend('webgpu').then(
  (s) => ({ ok: true as const, kernels: s.kernels }),
  (err: Error) => ({ ok: false as const, reason: err.message.split('\n')[0]! }),
);
const title = started.ok ? 'fused ops on webgpu' : `fused ops on webgpu (skipped: ${started.reason})`;

function randomTensor(rng: Rng, shape: number[], scale: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal() * scale), shape);
}

/** Largest |a - b| relative to max(1, |b|). */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

/** Runs f with the given kernels: its value and the gradients of sum(value * w) with respect to xs. */
async function valueAndGrads(kernels: Kernels, f: (k: Kernels, ...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], w: tf.Tensor): Promise<{ value: Float32Array; grads: Float32Array[]; dispatches: number }> {
  const d = fusedDispatches();
  const value = tf.tidy(() => f(kernels, ...xs));
  const fwd = fusedDispatches() - d;
  const g = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(f(kernels, ...ins), w)));
  const grads = g(xs);
  const out = { value: (await value.data()) as Float32Array, grads: await Promise.all(grads.map(async (t) => (await t.data()) as Float32Array)), dispatches: fwd };
  value.dispose();
  grads.forEach((t) => t.dispose());
  return out;
}

describe.skipIf(!started.ok)(title, () => {
  const fused = (started.ok ? started.kernels : noKernels('webgpu')) as Kernels;
  const chain = noKernels('webgpu');
  const rng = new Rng(11);

  async function compare(name: string, f: (k: Kernels, ...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], tol: { value: number; grad: number }) {
    const w = tf.tidy(() => randomTensor(rng, f(chain, ...xs).shape, 1));
    const tensors = tf.memory().numTensors;
    const a = await valueAndGrads(fused, f, xs, w);
    const b = await valueAndGrads(chain, f, xs, w);
    expect(tf.memory().numTensors, `${name} leaked tensors`).toBe(tensors);
    expect(a.dispatches, `${name}: the fused kernel did not run`).toBeGreaterThan(0);
    expect(b.dispatches).toBe(0);
    const v = worst(a.value, b.value);
    const g = Math.max(...a.grads.map((x, i) => worst(x, b.grads[i]!)));
    console.log(`${name}: fused vs tfjs chain, value ${v.toExponential(2)}, gradients ${g.toExponential(2)} (max relative difference)`);
    expect(v, `${name} forward`).toBeLessThanOrEqual(tol.value);
    expect(g, `${name} gradients`).toBeLessThanOrEqual(tol.grad);
    w.dispose();
    xs.forEach((x) => x.dispose());
  }

  it('uses the fused ops (FINETUNE_WEBGPU_FUSED defaults to on)', () => {
    expect(fused.ops, 'the webgpu backend started without the fused ops').not.toBeNull();
  });

  it('GELU (erf, every family\'s "gelu") equals the chain, forward and gradient', async () => {
    await compare('gelu erf', (k, x) => ops.geluErf(x!, k), [randomTensor(rng, [37, 300], 3)], { value: 1e-6, grad: 1e-5 });
  });

  it('GELU (tanh, ALBERT\'s "gelu_new") equals the chain, forward and gradient', async () => {
    await compare('gelu tanh', (k, x) => ops.geluTanh(x!, k), [randomTensor(rng, [37, 300], 3)], { value: 1e-5, grad: 1e-5 });
  });

  it('layer norm equals the chain: value and the gradients of x, gamma and beta', async () => {
    const x = tf.tidy(() => tf.add(randomTensor(rng, [70, 96], 2), 0.5));
    await compare('layer norm', (k, xi, g, b) => ops.layerNorm(xi!, g!, b!, 1e-12, k), [x, tf.tidy(() => tf.add(1, randomTensor(rng, [96], 0.1))), randomTensor(rng, [96], 0.1)], { value: 1e-5, grad: 1e-4 });
  });

  it('softmax equals the chain, forward and gradient', async () => {
    await compare('softmax', (k, s) => ops.softmax(s!, k), [randomTensor(rng, [3, 4, 17, 17], 2)], { value: 1e-6, grad: 1e-6 });
  });

  it('attention softmax (scale, padding mask and softmax in one kernel) equals the three ops, forward and gradient', async () => {
    // Sequences 1 and 2 have padding (float32 min, as batch.ts makes the additive mask).
    const mask = tf.tensor(Float32Array.from({ length: 3 * 17 }, (_, i) => (i % 17 > 12 && i >= 17 ? -3.4028234663852886e38 : 0)), [3, 1, 1, 17]) as tf.Tensor4D;
    await compare('attention softmax', (k, s) => ops.attentionSoftmax(s! as tf.Tensor3D, mask, 8 ** -0.5, 4, k), [randomTensor(rng, [12, 17, 17], 4)], { value: 1e-6, grad: 1e-6 });
    mask.dispose();
  });

  it('dropout: the same mask as the chain for the same seed (bit-identical), forward and gradient', async () => {
    const x = randomTensor(rng, [64, 333], 1);
    const xv = await x.data();
    const f = (k: Kernels, xi: tf.Tensor) => ops.dropout(xi, 0.1, 123456789, k);
    const a = await valueAndGrads(fused, (k, xi) => f(k, xi!), [x], tf.onesLike(x));
    const b = await valueAndGrads(chain, (k, xi) => f(k, xi!), [x], tf.onesLike(x));
    expect(a.dispatches).toBeGreaterThan(0);
    let dropped = 0;
    for (let i = 0; i < a.value.length; i++) {
      if (a.value[i] !== b.value[i] || a.grads[0]![i] !== b.grads[0]![i]) throw new Error(`dropout differs from the chain at ${i}: ${a.value[i]} vs ${b.value[i]}`);
      if (a.value[i] === 0 && xv[i] !== 0) dropped++;
    }
    // About a tenth dropped: the mask is not all-keep.
    expect(dropped / a.value.length).toBeGreaterThan(0.08);
    expect(dropped / a.value.length).toBeLessThan(0.12);
    x.dispose();
  });
});
