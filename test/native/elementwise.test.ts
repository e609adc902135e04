/**
 * The native memory-bound kernels (broadcasting arithmetic and comparisons, unary math,
 * reductions, softmax, transpose, gather) against the tfjs cpu kernels they replace: bit for bit
 * where the cpu kernel rounds once (+ - * / sqrt, comparisons, data movement), within an ulp or
 * two where it calls transcendental functions or sums in another order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { NATIVE_BACKEND, registerNativeBackend } from '../../src/main/engine/native/backend';
import { nativeElementwiseKernelNames } from '../../src/main/engine/native/elementwise';
import { addon, rng, skipReason } from './native-helpers';

function use(backend: string): void {
  void tf.setBackend(backend);
  if (tf.getBackend() !== backend) throw new Error(`could not switch to ${backend}`);
}

/** Runs fn on both backends with the same input values; returns [native, cpu] outputs. */
function both(inputs: { values: Float32Array | Int32Array; shape: number[]; dtype?: 'float32' | 'int32' }[], fn: (...t: tf.Tensor[]) => tf.Tensor) {
  const run = (backend: string) => {
    use(backend);
    const ts = inputs.map((i) => tf.tensor(i.values, i.shape, i.dtype ?? 'float32'));
    const out = fn(...ts);
    const res = { values: out.dataSync().slice(), shape: out.shape, dtype: out.dtype };
    tf.dispose([...ts, out]);
    return res;
  };
  return [run(NATIVE_BACKEND), run('cpu')] as const;
}

type Out = { values: ArrayLike<number>; shape: number[]; dtype: string };

/** Same shape, dtype and values; relTol 0 means bit-identical (NaN equals NaN, +0 differs from -0). */
function expectSame(got: Out, want: Out, label: string, relTol = 0, absTol = 0): void {
  expect(got.shape, label).toEqual(want.shape);
  expect(got.dtype, label).toBe(want.dtype);
  expect(got.values.length, label).toBe(want.values.length);
  for (let i = 0; i < got.values.length; i++) {
    const g = got.values[i]!;
    const w = want.values[i]!;
    const ok = relTol === 0 && absTol === 0 ? Object.is(g, w) : (Number.isNaN(g) && Number.isNaN(w)) || g === w || Math.abs(g - w) <= relTol * Math.abs(w) + absTol;
    if (!ok) expect.fail(`${label}: element ${i} is ${g}, cpu gives ${w}`);
  }
}

function data(n: number, seed: number, opts: { scale?: number; specials?: boolean; positive?: boolean } = {}): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(n);
  const specials = [Number.NaN, Infinity, -Infinity, 0, -0, 1e-40, -3.4028234663852886e38];
  for (let i = 0; i < n; i++) {
    out[i] = (rand() * 2 - 1) * (opts.scale ?? 3);
    if (opts.positive) out[i] = Math.abs(out[i]!) + 1e-3;
    if (opts.specials && i % 17 === 5) out[i] = specials[(i >> 4) % specials.length]!;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe.skipIf(!addon)('native elementwise kernels', () => {
  beforeAll(async () => {
    await tf.ready();
    const r = registerNativeBackend();
    if (!r.ok) throw new Error(r.reason);
  });

  it('are registered on the native backend in place of the cpu kernels', () => {
    for (const name of nativeElementwiseKernelNames()) {
      const native = tf.getKernel(name, NATIVE_BACKEND);
      expect(native, name).toBeDefined();
      expect(native!.kernelFunc, name).not.toBe(tf.getKernel(name, 'cpu')!.kernelFunc);
    }
  });

  const BROADCASTS: [number[], number[]][] = [
    [[7, 9], [7, 9]],
    [[], [5, 4]],
    [[5, 4], []],
    [[], []],
    [[6, 10], [10]],
    [[6, 10], [6, 1]],
    [[1, 10], [6, 1]],
    [[2, 1, 3], [1, 4, 1]],
    [[3, 1, 1, 8], [3, 2, 8, 8]],
    [[0, 3], [3]],
    [[2, 3, 0], [1, 0]],
    [[300, 1100], [1100]],
    [[300, 1100], [300, 1100]],
    [[64, 1], [64, 2000]],
  ];

  it('binary arithmetic with broadcasting, NaN, infinities and signed zeros is bit-identical', () => {
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['add', tf.add],
      ['sub', tf.sub],
      ['mul', tf.mul],
      ['div', tf.div],
      ['maximum', tf.maximum],
      ['minimum', tf.minimum],
      ['squaredDifference', tf.squaredDifference],
    ];
    let seed = 1;
    for (const [as, bs] of BROADCASTS) {
      const a = data(size(as), seed++, { specials: true });
      const b = data(size(bs), seed++, { specials: true });
      for (const [name, op] of ops) {
        const [n, c] = both([{ values: a, shape: as }, { values: b, shape: bs }], op);
        expectSame(n, c, `${name} [${as}] [${bs}]`);
      }
    }
  });

  it('pow matches Math.pow rounded to float32 (within an ulp), with broadcasting', () => {
    let seed = 50;
    for (const [as, bs] of BROADCASTS) {
      const a = data(size(as), seed++, { specials: true });
      const b = data(size(bs), seed++, { specials: true }).map((v, i) => (i % 3 === 0 ? Math.round(v) : v));
      const [n, c] = both([{ values: a, shape: as }, { values: b, shape: bs }], tf.pow);
      expectSame(n, c, `pow [${as}] [${bs}]`, 1.2e-7, 1e-44);
    }
  });

  it('comparisons give the same bool tensors', () => {
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['greater', tf.greater],
      ['greaterEqual', tf.greaterEqual],
      ['less', tf.less],
      ['lessEqual', tf.lessEqual],
      ['equal', tf.equal],
      ['notEqual', tf.notEqual],
    ];
    let seed = 100;
    for (const [as, bs] of BROADCASTS) {
      const a = data(size(as), seed++, { specials: true }).map((v) => Math.round(v));
      const b = data(size(bs), seed++, { specials: true }).map((v) => Math.round(v));
      for (const [name, op] of ops) {
        const [n, c] = both([{ values: a, shape: as }, { values: b, shape: bs }], op);
        expectSame(n, c, `${name} [${as}] [${bs}]`);
      }
    }
  });

  it('unary math matches (exactly where the cpu kernel rounds once)', () => {
    const exact = ['neg', 'sqrt', 'square', 'abs', 'reciprocal', 'relu', 'relu6', 'sign', 'step'];
    const ops: [string, (x: tf.Tensor) => tf.Tensor, { positive?: boolean }?][] = [
      ['neg', tf.neg],
      ['exp', tf.exp],
      ['log', tf.log, { positive: true }],
      ['sqrt', tf.sqrt, { positive: true }],
      ['rsqrt', tf.rsqrt, { positive: true }],
      ['square', tf.square],
      ['abs', tf.abs],
      ['tanh', tf.tanh],
      ['reciprocal', tf.reciprocal],
      ['relu', tf.relu],
      ['sigmoid', tf.sigmoid],
      ['expm1', tf.expm1],
      ['log1p', tf.log1p, { positive: true }],
      ['sign', tf.sign],
      ['relu6', tf.relu6],
      ['elu', tf.elu],
      ['step', (x) => tf.step(x, 0.25)],
    ];
    for (const shape of [[], [13], [4, 33], [700, 300]]) {
      for (const [name, op, o] of ops) {
        const x = data(size(shape), 7 + shape.length, { specials: true, positive: o?.positive, scale: 8 });
        const [n, c] = both([{ values: x, shape }], op);
        if (exact.includes(name)) expectSame(n, c, `${name} [${shape}]`);
        else expectSame(n, c, `${name} [${shape}]`, 4e-7, 1e-37);
      }
    }
  });

  it('exp, tanh, sigmoid and erf are accurate over dense sweeps (vectorised float math)', () => {
    /** Float64 erf: Taylor series for |x| <= 3, the asymptotic erfc series beyond. */
    const erf64 = (x: number): number => {
      const ax = Math.abs(x);
      if (ax <= 3) {
        let sum = 0;
        let term = x;
        for (let n = 0; n < 200; n++) {
          const t = term / (2 * n + 1);
          sum += t;
          term *= (-x * x) / (n + 1);
          if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
        }
        return (2 / Math.sqrt(Math.PI)) * sum;
      }
      const x2 = x * x;
      const erfc = (Math.exp(-x2) / (ax * Math.sqrt(Math.PI))) * (1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 ** 3) + 105 / (16 * x2 ** 4));
      return Math.sign(x) * (1 - erfc);
    };
    const f32 = new Float32Array(2);
    const i32 = new Int32Array(f32.buffer);
    const ulps = (a: number, b: number) => {
      f32[0] = a;
      f32[1] = b;
      const ia = i32[0]! < 0 ? 0x80000000 - i32[0]! : i32[0]!;
      const ib = i32[1]! < 0 ? 0x80000000 - i32[1]! : i32[1]!;
      return Math.abs(ia - ib);
    };
    const sweep = (lo: number, hi: number, n = 400_001) => Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
    const cases: [string, Float32Array, (x: number) => number, 'ulp' | 'abs', number][] = [
      ['Exp', sweep(-103, 88.7), Math.exp, 'ulp', 1],
      ['Exp', sweep(-2, 2), Math.exp, 'ulp', 1],
      ['Tanh', sweep(-12, 12), Math.tanh, 'ulp', 2],
      ['Tanh', sweep(-0.7, 0.7), Math.tanh, 'ulp', 2],
      ['Sigmoid', sweep(-40, 40), (x) => 1 / (1 + Math.exp(-x)), 'ulp', 2],
      ['Erf', sweep(-6, 6), erf64, 'abs', 1.5e-7],
      ['Erf', sweep(-1, 1), erf64, 'abs', 1.5e-7],
    ];
    for (const [op, x, ref, mode, limit] of cases) {
      const y = new Float32Array(x.length);
      addon!.unary(op as 'Exp', x, y, 0);
      let worst = 0;
      let at = 0;
      for (let i = 0; i < x.length; i++) {
        const r = ref(x[i]!);
        const e = mode === 'ulp' ? ulps(y[i]!, Math.fround(r)) : Math.abs(y[i]! - r);
        if (e > worst) {
          worst = e;
          at = x[i]!;
        }
      }
      expect(worst, `${op} on [${x[0]}, ${x[x.length - 1]}]: worst ${worst} ${mode} at ${at}`).toBeLessThanOrEqual(limit);
    }
    // Special values.
    const special = Float32Array.from([Number.NaN, Infinity, -Infinity, 0, -0, 1e-40, 89, -104.5]);
    const out = new Float32Array(special.length);
    addon!.unary('Exp', special, out, 0);
    expect(Array.from(out)).toEqual([Number.NaN, Infinity, 0, 1, 1, 1, Infinity, 0]);
    addon!.unary('Tanh', special, out, 0);
    expect(Array.from(out)).toEqual([Number.NaN, 1, -1, 0, -0, Math.fround(1e-40), 1, -1]);
    addon!.unary('Erf', special, out, 0);
    // erf(x) = 2x/sqrt(pi) for tiny x; in the subnormal range only to subnormal precision.
    expect(Math.abs(out[5]! - special[5]! * 1.1283791670955126)).toBeLessThan(1e-44);
    out[5] = 0;
    expect(Array.from(out)).toEqual([Number.NaN, 1, -1, 0, -0, 0, 1, -1]);
    // And against the cpu kernel (its own erf approximation is within 1.5e-7).
    const x = data(5000, 3, { scale: 4 });
    const [n, c] = both([{ values: x, shape: [5000] }], tf.erf);
    expectSame(n, c, 'erf vs cpu', 0, 3e-7);
  });

  it('every vectorised math set (avx512, avx2, generic) gives bit-identical results', () => {
    const x = data(100_003, 21, { scale: 12, specials: true });
    const dy = data(100_003, 22);
    const run = () => {
      const outs: Float32Array[] = [];
      for (const op of ['Exp', 'Erf', 'Tanh', 'Sigmoid'] as const) {
        const y = new Float32Array(x.length);
        addon!.unary(op, x, y, 0);
        outs.push(y);
      }
      for (const form of ['erf', 'tanh'] as const) {
        const y = new Float32Array(x.length);
        addon!.gelu(x, y, form);
        const dx = new Float32Array(x.length);
        addon!.geluGrad(dy, x, dx, form);
        outs.push(y, dx);
      }
      const d = new Float32Array(x.length);
      addon!.dropout(x, 0.3, 99, d);
      const sm = new Float32Array(x.length - 3);
      addon!.softmax(x.subarray(0, x.length - 3), 100, 1000, sm);
      outs.push(d, sm);
      return outs.map((o) => Buffer.from(o.buffer));
    };
    const sets = ['generic', 'avx2', 'avx512'].filter((name) => {
      try {
        addon!.setMath(name as 'generic');
        return true;
      } catch {
        return false;
      }
    });
    expect(sets).toContain('generic');
    const results = sets.map((name) => {
      addon!.setMath(name as 'generic');
      return run();
    });
    addon!.setMath('auto');
    for (let s = 1; s < results.length; s++) {
      results[s]!.forEach((r, i) => expect(r.equals(results[0]![i]!), `${sets[s]} vs generic, output ${i}`).toBe(true));
    }
    expect(() => addon!.setMath('sse9' as 'generic')).toThrow(/math set 'sse9' is not available/);
  });

  it('reductions over any axes and keepDims match', () => {
    const shapes = [[3, 4, 5], [1, 6, 1, 7], [2048, 256], [17, 1300], [5]];
    let seed = 200;
    for (const shape of shapes) {
      const rank = shape.length;
      const axesList: (number | number[] | undefined)[] = [undefined, -1, 0, rank > 1 ? [0, 1] : 0, rank > 2 ? [1, 2] : -1, rank > 2 ? [0, 2] : 0];
      const x = data(size(shape), seed++, { scale: 5 });
      for (const axis of axesList) {
        for (const keepDims of [false, true]) {
          const label = (name: string) => `${name} [${shape}] axis=${JSON.stringify(axis)} keepDims=${keepDims}`;
          const k = (v: number) => v * 2 ** -23 * 4;
          const r = axis === undefined ? size(shape) : (Array.isArray(axis) ? axis : [axis]).reduce((p, d) => p * shape[(d + rank) % rank]!, 1);
          let [n, c] = both([{ values: x, shape }], (t) => tf.sum(t, axis, keepDims));
          expectSame(n, c, label('sum'), 1e-6, k(r) * 5);
          [n, c] = both([{ values: x, shape }], (t) => tf.mean(t, axis, keepDims));
          expectSame(n, c, label('mean'), 1e-6, k(1) * 5);
          [n, c] = both([{ values: x, shape }], (t) => tf.max(t, axis, keepDims));
          expectSame(n, c, label('max'));
          [n, c] = both([{ values: x, shape }], (t) => tf.min(t, axis, keepDims));
          expectSame(n, c, label('min'));
        }
      }
    }
    // NaN propagates through max/min.
    const withNan = new Float32Array([1, Number.NaN, 3, 4, 5, 6]);
    const [n, c] = both([{ values: withNan, shape: [2, 3] }], (t) => tf.max(t, 1));
    expectSame(n, c, 'max with NaN');
  });

  it('softmax matches, including masked (-3.4e38) positions and wide rows', () => {
    for (const shape of [[4, 7], [2, 3, 130], [16 * 4 * 8, 128], [1, 1]]) {
      const x = data(size(shape), 300 + shape.length, { scale: 6 });
      for (let i = 3; i < x.length; i += 11) x[i] = -3.4028234663852886e38;
      const [n, c] = both([{ values: x, shape }], (t) => tf.softmax(t));
      expectSame(n, c, `softmax [${shape}]`, 4e-7, 1e-30);
    }
  });

  it('transpose and gather move the same values (float32 and int32)', () => {
    const cases: [number[], number[]][] = [
      [[7, 9], [1, 0]],
      [[300, 500], [1, 0]],
      [[2, 5, 3, 7], [0, 2, 1, 3]],
      [[16, 128, 4, 64], [0, 2, 1, 3]],
      [[3, 1, 4, 1, 5], [4, 2, 0, 3, 1]],
      [[2, 3, 4, 5, 6], [3, 1, 4, 0, 2]],
      [[6, 40, 33], [0, 2, 1]],
      [[5], [0]],
      [[0, 4], [1, 0]],
    ];
    let seed = 400;
    for (const [shape, perm] of cases) {
      const x = data(size(shape), seed++, { specials: true });
      let [n, c] = both([{ values: x, shape }], (t) => tf.transpose(t, perm));
      expectSame(n, c, `transpose [${shape}] perm [${perm}]`);
      const xi = Int32Array.from(x, (v) => (Number.isFinite(v) ? Math.round(v * 1000) : 7));
      [n, c] = both([{ values: xi, shape, dtype: 'int32' }], (t) => tf.transpose(t, perm));
      expectSame(n, c, `transpose int32 [${shape}] perm [${perm}]`);
    }
    const table = data(50 * 8, 9);
    const idx = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 50);
    let [n, c] = both([{ values: table, shape: [50, 8] }, { values: idx, shape: [3, 4], dtype: 'int32' }], (t, i) => tf.gather(t, i));
    expectSame(n, c, 'gather rows');
    [n, c] = both([{ values: Int32Array.from(table, (v) => Math.round(v * 100)), shape: [50, 8], dtype: 'int32' }, { values: idx, shape: [12], dtype: 'int32' }], (t, i) => tf.gather(t, i));
    expectSame(n, c, 'gather int32 rows');
    // Another axis falls back to the cpu kernel, with the same result.
    [n, c] = both([{ values: table, shape: [50, 8] }, { values: Int32Array.from([1, 0, 7]), shape: [3], dtype: 'int32' }], (t, i) => tf.gather(t, i, 1));
    expectSame(n, c, 'gather axis 1');
    use(NATIVE_BACKEND);
    const t = tf.tensor2d(table, [50, 8]);
    expect(() => tf.gather(t, tf.tensor1d([3, 50], 'int32'))).toThrow(/GatherV2: index 50 at position 1 is not in \[0, 50\)/);
    t.dispose();
  });

  it('int32 arithmetic falls back to the cpu kernels', () => {
    const a = Int32Array.from([1, -2, 3, 4]);
    const b = Int32Array.from([5, 6, -7, 8]);
    for (const op of [tf.add, tf.sub, tf.mul, tf.maximum, tf.greater]) {
      const [n, c] = both([{ values: a, shape: [4], dtype: 'int32' }, { values: b, shape: [4], dtype: 'int32' }], op);
      expectSame(n, c, `int32 ${op.name}`);
    }
    const [n, c] = both([{ values: a, shape: [2, 2], dtype: 'int32' }], (t) => tf.sum(t, 0));
    expectSame(n, c, 'int32 sum');
  });

  it('gradients through layer norm, softmax attention and GELU match cpu', () => {
    const rows = 24;
    const width = 32;
    const x = data(rows * width, 500, { scale: 2 });
    const g = data(width, 501, { scale: 1 });
    const w = data(width * width, 502, { scale: 0.3 });
    const grads = (xt: tf.Tensor, gt: tf.Tensor, wt: tf.Tensor) => {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        const mean = tf.mean(a, -1, true);
        const centered = tf.sub(a, mean);
        const variance = tf.mean(tf.square(centered), -1, true);
        const normed = tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, 1e-12))), b);
        const scores = tf.softmax(tf.matMul(normed, c) as tf.Tensor2D);
        const gelu = tf.mul(tf.mul(scores, 0.5), tf.add(1, tf.erf(tf.div(scores, Math.SQRT2))));
        return tf.sum(tf.mul(tf.transpose(gelu), tf.transpose(normed)));
      };
      const out = tf.grads(f)([xt, gt, wt]);
      return tf.concat(out.map((o) => o.flatten()));
    };
    const [n, c] = both(
      [
        { values: x, shape: [rows, width] },
        { values: g, shape: [width] },
        { values: w, shape: [width, width] },
      ],
      grads,
    );
    expectSame(n, c, 'gradients', 2e-4, 2e-6);
  });
});

describe.skipIf(!!addon)('native elementwise kernels without the addon', () => {
  it('skips, saying why', (ctx) => ctx.skip(skipReason));
});
