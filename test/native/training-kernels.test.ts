/**
 * Native kernels for the optimizer and the embedding gradient: the AdamW step is bit-identical to
 * the engine's JavaScript reference, the sum of squares matches a float64 loop whatever the thread
 * count, and the segment sum (gradient of gather) matches the one-pass JavaScript version.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { adamwUpdateJs } from '../../src/main/engine/optimizer';
import { NATIVE_BACKEND, registerNativeBackend } from '../../src/main/engine/native/backend';
import { nativeAdamWKernel, nativeSumOfSquares } from '../../src/main/engine/native/optimizer';
import { addon, randomArray, rng, skipReason } from './native-helpers';
import { useHeavyTimeouts } from '../engine/timeouts';

useHeavyTimeouts();

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.skipIf(!addon)('native training kernels', () => {
  beforeAll(async () => {
    await tf.ready();
    const r = registerNativeBackend();
    if (!r.ok) throw new Error(r.reason);
  });

  it('AdamW equals adamwUpdateJs bit for bit over several steps', () => {
    const kernel = nativeAdamWKernel()!;
    expect(kernel).not.toBeNull();
    const rand = rng(77);
    const n = 100_003;
    const p0 = randomArray(n, rand);
    const pJs = p0.slice();
    const pNat = p0.slice();
    const mJs = new Float32Array(n);
    const vJs = new Float32Array(n);
    const mNat = new Float32Array(n);
    const vNat = new Float32Array(n);
    for (let step = 1; step <= 4; step++) {
      const g = randomArray(n, rand, 0.01 * step);
      g[5] = 0;
      g[6] = 1e-30;
      const args = { lr: 2e-5 * step, weightDecay: step % 2 ? 0.01 : 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, step, gradScale: step === 3 ? 0.37 : 1 };
      adamwUpdateJs(pJs, g, mJs, vJs, args);
      kernel(pNat, g, mNat, vNat, args);
      expect(bits(pNat).equals(bits(pJs)), `parameters after step ${step}`).toBe(true);
      expect(bits(mNat).equals(bits(mJs)), `first moments after step ${step}`).toBe(true);
      expect(bits(vNat).equals(bits(vJs)), `second moments after step ${step}`).toBe(true);
    }
    expect(bits(pNat).equals(bits(p0))).toBe(false);
    expect(() => addon!.adamw(pNat, new Float32Array(3), mNat, vNat, 1, 0.9, 0.999, 1e-3, 1, 1e-8, 1)).toThrow(/g has 3 elements, expected 100003/);
    expect(() => addon!.adamw(pNat, pNat.subarray(1), mNat, vNat, 1, 0.9, 0.999, 1e-3, 1, 1e-8, 1)).toThrow(/g has|must not share memory/);
  });

  it('sum of squares matches float64 and does not depend on the thread count', () => {
    const sumSq = nativeSumOfSquares()!;
    const x = randomArray(1_000_003, rng(5), 3);
    let ref = 0;
    for (let i = 0; i < x.length; i++) ref += x[i]! * x[i]!;
    const before = addon!.info().threads;
    const results = [1, 2, 3].map((t) => {
      addon!.setThreads(t);
      return sumSq(x);
    });
    addon!.setThreads(before);
    expect(Math.abs(results[0]! - ref) / ref).toBeLessThan(1e-12);
    expect(new Set(results).size).toBe(1);
    expect(sumSq(new Float32Array(0))).toBe(0);
  });

  it('UnsortedSegmentSum equals a row-order float32 accumulation, skipping ids out of range', () => {
    const rand = rng(12);
    const rows = 2048;
    const width = 96;
    const segments = 300;
    const x = randomArray(rows * width, rand);
    const ids = Int32Array.from({ length: rows }, (_, i) => (i % 97 === 0 ? -1 : i % 101 === 0 ? segments : Math.floor(rand() * segments)));
    const ref = new Float32Array(segments * width);
    for (let i = 0; i < rows; i++) {
      const s = ids[i]!;
      if (s < 0 || s >= segments) continue;
      for (let j = 0; j < width; j++) ref[s * width + j]! += x[i * width + j]!;
    }
    void tf.setBackend(NATIVE_BACKEND);
    const out = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x, [rows, width]), tf.tensor1d(ids, 'int32'), segments));
    expect(out.shape).toEqual([segments, width]);
    expect(bits(out.dataSync() as Float32Array).equals(bits(ref))).toBe(true);
    out.dispose();
  });

  it('the embedding gradient (gather) is the same on native and cpu', () => {
    const table = randomArray(500 * 16, rng(3));
    const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 37) % 500);
    const up = randomArray(300 * 16, rng(4));
    const run = (backend: string) => {
      void tf.setBackend(backend);
      return tf.tidy(() => {
        const g = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.gather(w, tf.tensor1d(ids, 'int32')), tf.tensor2d(up, [300, 16]))))(tf.tensor2d(table, [500, 16]));
        return g.dataSync().slice() as Float32Array;
      });
    };
    const n = run(NATIVE_BACKEND);
    const c = run('cpu');
    for (let i = 0; i < n.length; i++) expect(Math.abs(n[i]! - c[i]!), `element ${i}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(c[i]!)));
  });

  it('a transpose that moves no data shares it, and both tensors stay valid', () => {
    void tf.setBackend(NATIVE_BACKEND);
    const x = tf.tensor3d(Float32Array.from({ length: 24 }, (_, i) => i), [2, 1, 12]);
    const y = tf.transpose(x, [1, 0, 2]);
    expect(y.shape).toEqual([1, 2, 12]);
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual(Array.from({ length: 24 }, (_, i) => i));
    y.dispose();
    const z = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const zt = tf.transpose(z);
    expect(zt.dataId).not.toBe(z.dataId);
    expect(Array.from(zt.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    tf.dispose([z, zt]);
  });
});

describe.skipIf(!!addon)('native training kernels without the addon', () => {
  it('skips, saying why', (ctx) => ctx.skip(skipReason));
  it('offers no AdamW kernel', () => expect(nativeAdamWKernel()).toBeNull());
});
