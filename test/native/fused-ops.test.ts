/**
 * The fused ops (GELU, layer norm, softmax, dropout) on 'native' against the tfjs op chains they
 * replace, run on the cpu backend: values and gradients.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { NATIVE_BACKEND, nativeOps, registerNativeBackend } from '../../src/main/engine/native/backend';
import type { NativeOps } from '../../src/main/engine/native/ops';
import { addon, randomArray, rng, skipReason } from './native-helpers';

function use(backend: string): void {
  void tf.setBackend(backend);
  if (tf.getBackend() !== backend) throw new Error(`could not switch to ${backend}`);
}

/** Runs fn(tensors) on a backend; returns every output (value and gradients) as float64 arrays. */
function on(backend: string, inputs: { v: Float32Array; shape: number[] }[], fn: (...t: tf.Tensor[]) => tf.Tensor[]): Float64Array[] {
  use(backend);
  const ts = inputs.map((i) => tf.tensor(i.v, i.shape));
  const outs = tf.tidy(() => fn(...ts));
  const res = outs.map((o) => Float64Array.from(o.dataSync()));
  tf.dispose([...ts, ...outs]);
  return res;
}

function close(got: Float64Array[], want: Float64Array[], rel: number, abs: number, label: string): void {
  expect(got.length, label).toBe(want.length);
  got.forEach((g, k) => {
    const w = want[k]!;
    expect(g.length, `${label} output ${k}`).toBe(w.length);
    const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < g.length; i++) {
      if (!(Math.abs(g[i]! - w[i]!) <= rel * Math.abs(w[i]!) + abs * scale)) expect.fail(`${label} output ${k} element ${i}: ${g[i]} vs ${w[i]}`);
    }
  });
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const refGelu = (x: tf.Tensor, form: 'erf' | 'tanh') =>
  form === 'erf'
    ? tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))
    : tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI))));

function refLayerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), g), b);
}

describe.skipIf(!addon)('native fused ops', () => {
  let ops: NativeOps;
  beforeAll(async () => {
    await tf.ready();
    const r = registerNativeBackend();
    if (!r.ok) throw new Error(r.reason);
    ops = nativeOps()!;
    expect(ops).not.toBeNull();
  });

  it('GELU (erf and tanh forms) and its gradient match the op chains', () => {
    for (const form of ['erf', 'tanh'] as const) {
      for (const shape of [[7], [64, 130], [3, 5, 33]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = randomArray(n, rng(n), 5);
        const w = randomArray(n, rng(n + 1));
        const inputs = [{ v: x, shape }, { v: w, shape }];
        const native = on(NATIVE_BACKEND, inputs, (xt, wt) => {
          const y = ops.gelu(xt!, form);
          const [g] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(ops.gelu(a, form), wt!)))([xt!]);
          return [y, g!];
        });
        const cpu = on('cpu', inputs, (xt, wt) => {
          const y = refGelu(xt!, form);
          const [g] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(refGelu(a, form), wt!)))([xt!]);
          return [y, g!];
        });
        // The cpu erf is a 1.5e-7 approximation, hence the absolute slack.
        close(native, cpu, 3e-6, 1e-6, `gelu ${form} [${shape}]`);
      }
    }
  });

  it('layer norm and its gradients (x, gamma, beta) match the op chain', () => {
    for (const [shape, eps] of [
      [[37, 64], 1e-12],
      [[2, 3, 48], 1e-5],
      [[1, 256], 1e-12],
    ] as [number[], number][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const cols = shape[shape.length - 1]!;
      const x = randomArray(n, rng(3 + n), 2);
      for (let i = 0; i < n; i += cols) x[i] = x[i]! + 40; // a row with a large offset
      const inputs = [
        { v: x, shape },
        { v: randomArray(cols, rng(4)), shape: [cols] },
        { v: randomArray(cols, rng(5)), shape: [cols] },
        { v: randomArray(n, rng(6)), shape },
      ];
      const grads = (f: (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor) => (xt?: tf.Tensor, g?: tf.Tensor, b?: tf.Tensor, w?: tf.Tensor) => [
        f(xt!, g!, b!),
        ...tf.grads((a: tf.Tensor, bb: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, bb, c), w!)))([xt!, g!, b!]),
      ];
      const native = on(NATIVE_BACKEND, inputs, grads((a, b, c) => ops.layerNorm(a, b, c, eps)));
      const cpu = on('cpu', inputs, grads((a, b, c) => refLayerNorm(a, b, c, eps)));
      close(native, cpu, 1e-4, 2e-5, `layerNorm [${shape}] eps=${eps}`);
    }
  });

  it('softmax with the one-pass gradient matches tf.softmax on cpu', () => {
    const shape = [4, 3, 40];
    const x = randomArray(480, rng(8), 4);
    x[5] = -3.4028234663852886e38;
    const inputs = [{ v: x, shape }, { v: randomArray(480, rng(9)), shape }];
    const native = on(NATIVE_BACKEND, inputs, (xt, w) => [ops.softmax(xt!), ...tf.grads((a: tf.Tensor) => tf.sum(tf.mul(ops.softmax(a), w!)))([xt!])]);
    const cpu = on('cpu', inputs, (xt, w) => [tf.softmax(xt!), ...tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.softmax(a), w!)))([xt!])]);
    close(native, cpu, 1e-5, 1e-7, 'softmax');
  });

  it('dropout: seeded, keeps 1 - rate, scales by 1 / (1 - rate), and its gradient uses the same mask', () => {
    const n = 200_000;
    const x = randomArray(n, rng(10), 1).map((v) => v + 2); // no zeros
    use(NATIVE_BACKEND);
    const xt = tf.tensor1d(x);
    const a = ops.dropout(xt, 0.1, 42).dataSync();
    const b = ops.dropout(xt, 0.1, 42).dataSync();
    const c = ops.dropout(xt, 0.1, 43).dataSync();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    let kept = 0;
    let badScale = -1;
    for (let i = 0; i < n; i++) {
      if (a[i] === 0) continue;
      kept++;
      if (badScale < 0 && !(Math.abs(a[i]! - x[i]! / 0.9) <= Math.abs(x[i]!) * 1.2e-7)) badScale = i;
    }
    expect(badScale, 'first kept element not scaled by 1/0.9').toBe(-1);
    expect(Math.abs(kept / n - 0.9)).toBeLessThan(0.004);
    const w = tf.tensor1d(randomArray(n, rng(11)));
    const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(ops.dropout(t, 0.1, 42), w)))([xt]);
    const gv = g!.dataSync();
    const wv = w.dataSync();
    for (let i = 0; i < n; i += 97) expect(gv[i]).toBeCloseTo(a[i] === 0 ? 0 : wv[i]! / 0.9, 5);
    expect(Array.from(ops.dropout(xt, 0, 42).dataSync().slice(0, 5))).toEqual(Array.from(x.slice(0, 5)));
    expect(() => ops.dropout(xt, 1, 1)).toThrow(/rate must be in \[0, 1\)/);
    expect(() => ops.dropout(xt, 0.1, -1)).toThrow(/seed must be an integer/);
    tf.dispose([xt, w, g!]);
  });

  it('leaks no tensors, and refuses to run on another backend', () => {
    use(NATIVE_BACKEND);
    const x = tf.tensor2d(randomArray(6 * 8, rng(12)), [6, 8]);
    const g = tf.ones([8]);
    const b = tf.zeros([8]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grads((a: tf.Tensor) => tf.sum(ops.dropout(ops.gelu(ops.softmax(ops.layerNorm(a, g, b, 1e-12)), 'erf'), 0.1, 7)))([x]);
    });
    expect(tf.memory().numTensors).toBe(before);
    use('cpu');
    expect(() => ops.gelu(x, 'erf')).toThrow(/runs only on the 'native' backend \(the active backend is 'cpu'\)/);
    tf.dispose([x, g, b]);
  });
});

describe.skipIf(!!addon)('native fused ops without the addon', () => {
  it('skips, saying why', (ctx) => ctx.skip(skipReason));
});
