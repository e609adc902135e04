/**
 * The 'native' tfjs backend against the pure-JS 'cpu' backend (and a float64 reference where the
 * cpu kernel itself is wrong): matMul, fused matMul with bias and each activation, and their
 * gradients, on the BLAS path and on the own-kernel path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (tfjs-core's Node build registers none).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { NATIVE_BACKEND, registerNativeBackend } from '../../src/main/engine/native/backend';
import { nativeInfo } from '../../src/main/engine/native/info';
import { addon, firstMismatch, gemmPaths, makeCase, referenceGemm, rng, skipReason } from './native-helpers';
import { useHeavyTimeouts } from '../engine/timeouts';

useHeavyTimeouts();

type Act = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu';

/** Switches backend; both are synchronous to initialise, so the switch is immediate. */
function use(backend: string): void {
  void tf.setBackend(backend);
  if (tf.getBackend() !== backend) throw new Error(`could not switch to ${backend}`);
}

/** Runs fn on a backend and returns its outputs as float64 arrays. */
function on(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Float64Array[] {
  use(backend);
  const outs = tf.tidy(() => {
    const out = fn();
    return Array.isArray(out) ? out : [out];
  });
  const values = outs.map((t) => Float64Array.from(t.dataSync()));
  tf.dispose(outs);
  return values;
}

/** Relative agreement between two float32 computations of the same sums of k products. */
function expectClose(got: Float64Array[], want: Float64Array[], k: number, label: string): void {
  expect(got.length, label).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    const bound = w.map(() => 4 * (k + 2) * 2 ** -24 * scale + 1e-30);
    const bad = firstMismatch(g, w, bound);
    expect(bad, `${label} output ${i}: ${bad}`).toBeNull();
  });
}

function tensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rand = rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => (rand() * 2 - 1) * scale), shape);
}

const paths = gemmPaths();
const blas = paths.find((p) => p.mode === 'blas');
const pathModes = [
  { mode: 'blas' as const, skip: !blas?.available ? `no BLAS on this machine: ${blas?.why ?? skipReason}` : '' },
  { mode: 'own' as const, skip: '' },
];

describe.skipIf(!addon)('native tfjs backend', () => {
  let previous = 'cpu';
  beforeAll(async () => {
    await tf.ready();
    previous = tf.getBackend();
  });
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  it('registers, reports what runs, and copies every cpu kernel', async () => {
    const r = registerNativeBackend();
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    const info = nativeInfo();
    expect(r.gemm).toBe(info.gemm);
    expect(r.threads).toBe(info.threads);
    expect(info.summary).toMatch(/thread/);
    // FINETUNE_NATIVE_GEMM (CI sets it to test the own kernels) picks the path.
    const forced = process.env.FINETUNE_NATIVE_GEMM?.trim() || 'auto';
    const bestOwn = info.ownKernels[0];
    const expected = forced === 'auto' ? (info.blas ? info.blas.name : bestOwn) : forced === 'own' ? bestOwn : forced === 'blas' ? info.blas?.name : forced;
    expect(r.gemm).toBe(expected);
    const cpu = new Set(tf.getKernelsForBackend('cpu').map((k) => k.kernelName));
    const native = new Set(tf.getKernelsForBackend(NATIVE_BACKEND).map((k) => k.kernelName));
    expect([...cpu].filter((k) => !native.has(k))).toEqual([]);
    // Registering again is harmless.
    expect(registerNativeBackend().ok).toBe(true);
    expect(await tf.setBackend(NATIVE_BACKEND)).toBe(true);
    expect(tf.getBackend()).toBe(NATIVE_BACKEND);
  });

  for (const { mode, skip } of pathModes) {
    describe(`gemm ${mode}`, () => {
      beforeAll(() => {
        if (skip) return;
        const r = registerNativeBackend({ gemm: mode });
        if (!r.ok) throw new Error(r.reason);
      });
      const guard = (ctx: { skip: (note?: string) => void }) => {
        if (skip) ctx.skip(skip);
      };

      it('matMul matches cpu on 2-D and batched shapes, all transposes', (ctx) => {
        guard(ctx);
        const shapes: [number[], number[], boolean, boolean][] = [
          [[7, 5], [5, 9], false, false],
          [[5, 7], [5, 9], true, false],
          [[7, 5], [9, 5], false, true],
          [[5, 7], [9, 5], true, true],
          [[1, 1], [1, 1], false, false],
          [[128, 256], [256, 96], false, false],
          [[64, 33], [96, 33], false, true],
          [[6, 17, 8], [6, 8, 19], false, false],
          [[8, 32, 16], [8, 32, 16], false, true],
          [[8, 32, 16], [8, 32, 16], true, false],
        ];
        let seed = 100;
        for (const [as, bs, ta, tb] of shapes) {
          const k = ta ? as[as.length - 2]! : as[as.length - 1]!;
          const a = tensor(as, seed++);
          const b = tensor(bs, seed++);
          const got = on(NATIVE_BACKEND, () => tf.matMul(a, b, ta, tb));
          const want = on('cpu', () => tf.matMul(a, b, ta, tb));
          expectClose(got, want, k, `[${as}] x [${bs}] tA=${ta} tB=${tb}`);
          a.dispose();
          b.dispose();
        }
      });

      it('broadcasts batch dims correctly ([2,1,3,4] x [5,4,6]), where the cpu kernel does not', (ctx) => {
        guard(ctx);
        const g = makeCase(rng(8), 3, 6, 4, { aBatch: [2, 1], bBatch: [5] });
        const { ref, bound } = referenceGemm(g);
        use(NATIVE_BACKEND);
        const out = tf.tidy(() => tf.matMul(tf.tensor(g.a, [2, 1, 3, 4]), tf.tensor(g.b, [5, 4, 6])));
        expect(out.shape).toEqual([2, 5, 3, 6]);
        expect(firstMismatch(out.dataSync(), ref, bound)).toBeNull();
        out.dispose();
        // tfjs-backend-cpu 4.22 indexes the batch by flat position modulo each operand's batch
        // size, which is wrong for this shape. Kept as a check that this test can tell.
        use('cpu');
        const cpuOut = tf.tidy(() => tf.matMul(tf.tensor(g.a, [2, 1, 3, 4]), tf.tensor(g.b, [5, 4, 6])));
        let cpuValues: Float32Array | null = null;
        try {
          cpuValues = cpuOut.dataSync() as Float32Array;
        } catch {
          cpuValues = null;
        }
        expect(cpuValues === null || firstMismatch(cpuValues, ref, bound) !== null).toBe(true);
        cpuOut.dispose();
      });

      it('fused matMul: bias and every activation, as cpu', (ctx) => {
        guard(ctx);
        const acts: Act[] = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'];
        const m = 23;
        const k = 19;
        const n = 29;
        let seed = 300;
        for (const act of acts) {
          for (const biasShape of [null, [n], [1], [1, n], [m, n], [m, 1]] as (number[] | null)[]) {
            for (const [ta, tb] of [
              [false, true],
              [true, false],
            ] as const) {
              const a = tensor(ta ? [k, m] : [m, k], seed++, 3);
              const b = tensor(tb ? [n, k] : [k, n], seed++);
              const bias = biasShape ? tensor(biasShape, seed++) : undefined;
              const prelu = act === 'prelu' ? tensor([n], seed++).abs() : undefined;
              const run = () =>
                tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: act, preluActivationWeights: prelu, leakyreluAlpha: 0.15 });
              expectClose(on(NATIVE_BACKEND, run), on('cpu', run), k, `${act} bias=${biasShape} tA=${ta} tB=${tb}`);
              tf.dispose([a, b, ...(bias ? [bias] : []), ...(prelu ? [prelu] : [])]);
            }
          }
        }
      });

      it('gradients of matMul (all transposes, batched) equal cpu', (ctx) => {
        guard(ctx);
        let seed = 500;
        for (const [as, bs, ta, tb] of [
          [[9, 6], [6, 11], false, false],
          [[6, 9], [6, 11], true, false],
          [[9, 6], [11, 6], false, true],
          [[6, 9], [11, 6], true, true],
          [[4, 9, 6], [4, 6, 11], false, false],
          [[4, 6, 9], [4, 11, 6], true, true],
        ] as [number[], number[], boolean, boolean][]) {
          const a = tensor(as, seed++);
          const b = tensor(bs, seed++);
          const outShape = [...as.slice(0, -2), ta ? as[as.length - 1]! : as[as.length - 2]!, tb ? bs[bs.length - 2]! : bs[bs.length - 1]!];
          const w = tensor(outShape, seed++);
          const grads = () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([a, b]);
          const k = Math.max(...as, ...bs);
          expectClose(on(NATIVE_BACKEND, grads), on('cpu', grads), k, `grad [${as}] x [${bs}] tA=${ta} tB=${tb}`);
          tf.dispose([a, b, w]);
        }
      });

      it('gradients of fused matMul with bias (linear, relu, elu) equal cpu', (ctx) => {
        guard(ctx);
        let seed = 700;
        for (const act of ['linear', 'relu', 'elu'] as Act[]) {
          const x = tensor([13, 8], seed++, 2);
          const wt = tensor([10, 8], seed++);
          const bias = tensor([10], seed++);
          const up = tensor([13, 10], seed++);
          const grads = () =>
            tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
              tf.sum(tf.mul(tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias: c, activation: act }), up)),
            )([x, wt, bias]);
          expectClose(on(NATIVE_BACKEND, grads), on('cpu', grads), 13, `fused grad ${act}`);
          tf.dispose([x, wt, bias, up]);
        }
      });

      it('leaks no tensors or backend data (also on the fallback paths)', (ctx) => {
        guard(ctx);
        use(NATIVE_BACKEND);
        const a = tensor([12, 7], 900);
        const b = tensor([7, 5], 901);
        const biasFull = tensor([12, 5], 902);
        const ai = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
        const before = tf.memory().numTensors;
        const dataBefore = tf.engine().backend.numDataIds();
        tf.tidy(() => {
          tf.matMul(a, b);
          tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: biasFull, activation: 'relu' });
          tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: tf.zeros([5]), activation: 'sigmoid' });
          tf.matMul(ai, ai);
        });
        expect(tf.memory().numTensors).toBe(before);
        expect(tf.engine().backend.numDataIds()).toBe(dataBefore);
        tf.dispose([a, b, biasFull, ai]);
      });

      it('int32 matMul falls back to the cpu kernel', (ctx) => {
        guard(ctx);
        const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
        const b = tf.tensor2d([7, 8, 9, 10, 11, 12], [3, 2], 'int32');
        use(NATIVE_BACKEND);
        const c = tf.matMul(a, b);
        expect(c.dtype).toBe('int32');
        expect(Array.from(c.dataSync())).toEqual([58, 64, 139, 154]);
        tf.dispose([a, b, c]);
      });
    });
  }

  it('explains a forced path that is unavailable, and bad settings', () => {
    expect(registerNativeBackend({ env: { FINETUNE_NATIVE_GEMM: 'fastest' } })).toEqual({
      ok: false,
      reason: expect.stringMatching(/^native kernels unavailable: FINETUNE_NATIVE_GEMM=fastest is not one of auto, blas, own/),
    });
    expect(registerNativeBackend({ env: { FINETUNE_THREADS: 'lots' } })).toEqual({
      ok: false,
      reason: expect.stringMatching(/FINETUNE_THREADS=lots is not a whole number/),
    });
    expect(registerNativeBackend({ env: { FINETUNE_NATIVE: 'off' } })).toEqual({
      ok: false,
      reason: 'native kernels unavailable: disabled by FINETUNE_NATIVE=off',
    });
    const missing = registerNativeBackend({ env: { FINETUNE_NATIVE_ADDON: '/nonexistent/finetune_native.node' } });
    expect(missing).toEqual({ ok: false, reason: expect.stringMatching(/not built \(no \/nonexistent\/finetune_native\.node\)/) });
    const own = registerNativeBackend({ env: { FINETUNE_NATIVE_GEMM: 'own', FINETUNE_THREADS: '1' } });
    expect(own).toEqual({ ok: true, gemm: nativeInfo().ownKernels[0], threads: 1 });
    const neon = nativeInfo().ownKernels.includes('own-neon');
    if (!neon) {
      expect(registerNativeBackend({ gemm: 'own-neon' })).toEqual({
        ok: false,
        reason: expect.stringMatching(/own-neon is not built for this architecture|needs CPU features/),
      });
    }
    const back = registerNativeBackend();
    expect(back.ok).toBe(true);
  });
});

describe.skipIf(!!addon)('native tfjs backend without the addon', () => {
  it('skips, saying why', (ctx) => ctx.skip(skipReason));
  it('registerNativeBackend explains why it is unavailable', () => {
    const r = registerNativeBackend();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^native kernels unavailable: /);
  });
});
