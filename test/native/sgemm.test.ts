/**
 * The native SGEMM against a float64 reference, on every path this machine can run (the BLAS
 * found at run time and each own kernel), over odd sizes, sizes 0 and 1, the four transpose
 * combinations, alpha/beta, batch broadcasting, the blocking boundaries and several thread counts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  addon,
  firstMismatch,
  gemmPaths,
  makeCase,
  referenceGemm,
  rng,
  runGemm,
  skipReason,
  type GemmCase,
} from './native-helpers';

const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

function check(g: GemmCase, label: string): void {
  const got = runGemm(g);
  const { ref, bound } = referenceGemm(g);
  const bad = firstMismatch(got, ref, bound);
  expect(bad, `${label}: ${bad}`).toBeNull();
}

describe.skipIf(!addon)('native SGEMM', () => {
  it('the comparison catches a wrong element', () => {
    const g = makeCase(rng(1), 7, 5, 9);
    const got = runGemm(g);
    const { ref, bound } = referenceGemm(g);
    expect(firstMismatch(got, ref, bound)).toBeNull();
    got[17] = got[17]! + 1e-3;
    expect(firstMismatch(got, ref, bound)).toMatch(/element 17/);
    got[17] = Number.NaN;
    expect(firstMismatch(got, ref, bound)).toMatch(/element 17/);
  });

  const initial = addon ? addon.info() : null;
  afterAll(() => {
    if (addon && initial) {
      addon.setGemm('auto');
      addon.setThreads(initial.defaultThreads);
    }
  });

  for (const path of gemmPaths()) {
    describe(`path ${path.mode}`, () => {
      const use = (ctx: { skip: (note?: string) => void }) => {
        if (!path.available) ctx.skip(`no BLAS on this machine: ${path.why}`);
        addon!.setGemm(path.mode);
      };

      it('random odd shapes, all transposes, alpha and beta', (ctx) => {
        use(ctx);
        const rand = rng(42);
        const sizes = [1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 47, 64, 65, 97];
        for (let t = 0; t < 60; t++) {
          const pick = () => sizes[Math.floor(rand() * sizes.length)]!;
          const [transA, transB] = TRANSPOSES[t % 4]!;
          const alpha = t % 3 === 0 ? 1 : rand() * 4 - 2;
          const beta = t % 5 === 0 ? rand() * 2 - 1 : t % 7 === 0 ? 1 : 0;
          const g = makeCase(rand, pick(), pick(), pick(), { transA, transB, alpha, beta });
          check(g, `case ${t} m=${g.m} n=${g.n} k=${g.k} tA=${transA} tB=${transB} alpha=${alpha} beta=${beta}`);
        }
      });

      it('sizes 0 and 1', (ctx) => {
        use(ctx);
        const rand = rng(7);
        for (const [m, n, k] of [
          [0, 5, 3],
          [4, 0, 3],
          [4, 5, 0],
          [0, 0, 0],
          [1, 1, 1],
          [1, 9, 1],
          [9, 1, 1],
          [1, 1, 300],
          [1, 70, 33],
          [70, 1, 33],
        ] as const) {
          for (const [transA, transB] of TRANSPOSES) {
            for (const beta of [0, 0.5]) {
              check(makeCase(rand, m, n, k, { transA, transB, beta, alpha: 1.5 }), `m=${m} n=${n} k=${k} tA=${transA} tB=${transB} beta=${beta}`);
            }
          }
        }
      });

      it('k = 0 gives beta * C, and zeros (not NaN) when beta = 0', (ctx) => {
        use(ctx);
        const g = makeCase(rng(3), 3, 4, 0, { beta: 0 });
        expect(Array.from(runGemm(g))).toEqual(new Array(12).fill(0));
        const h = makeCase(rng(3), 3, 4, 0, { beta: 2 });
        expect(Array.from(runGemm(h))).toEqual(Array.from(h.c0, (v) => Math.fround(2 * v)));
      });

      it('crosses the cache-blocking boundaries (k > 512, m > 300, n > 2048)', (ctx) => {
        use(ctx);
        const rand = rng(11);
        for (const [transA, transB] of TRANSPOSES) {
          check(makeCase(rand, 301, 67, 523, { transA, transB, beta: 0.25 }), `301x523x67 tA=${transA} tB=${transB}`);
        }
        check(makeCase(rand, 13, 2100, 40), '13x40x2100');
        check(makeCase(rand, 5, 33, 1100, { transB: true }), '5x1100x33 tB');
      });

      it('the same results with 1, 2, 3 and 5 threads (bit-identical on the own kernels)', (ctx) => {
        use(ctx);
        const rand = rng(5);
        const cases = [
          makeCase(rand, 200, 96, 64),
          makeCase(rand, 37, 300, 81, { transA: true, beta: 1 }),
          makeCase(rand, 64, 64, 64, { aBatch: [3], bBatch: [3], transB: true }),
          makeCase(rand, 130, 2, 257),
        ];
        // Large enough for the multithreaded paths (one shared-panel GEMM, and split batches).
        cases.push(makeCase(rand, 301, 200, 600, { beta: 0.5 }), makeCase(rand, 50, 70, 300, { aBatch: [5], bBatch: [5] }));
        const before = addon!.info().threads;
        const results: Float32Array[][] = [];
        try {
          for (const threads of [1, 2, 3, 5]) {
            expect(addon!.setThreads(threads)).toBe(threads);
            results.push(cases.map((g, i) => {
              check(g, `case ${i} with ${threads} threads`);
              return runGemm(g);
            }));
          }
        } finally {
          addon!.setThreads(before);
        }
        // The own kernels give bit-identical results whatever the thread count (each element is
        // computed the same way in whichever tile it falls). The BLAS makes no such promise.
        if (path.mode !== 'blas') {
          for (let t = 1; t < results.length; t++) {
            results[t]!.forEach((r, i) => expect(Buffer.from(r.buffer).equals(Buffer.from(results[0]![i]!.buffer)), `case ${i}, run ${t}`).toBe(true));
          }
        }
      });

      it('broadcasts batch dimensions like numpy', (ctx) => {
        use(ctx);
        const rand = rng(9);
        const shapes: [number[], number[]][] = [
          [[2, 1], [5]],
          [[3], []],
          [[], [4]],
          [[1], [3]],
          [[2, 3], [2, 3]],
          [[4, 1, 2], [3, 1]],
          [[0], [1]],
          [[2, 0], [0]],
        ];
        for (const [aBatch, bBatch] of shapes) {
          for (const [transA, transB] of TRANSPOSES) {
            const g = makeCase(rand, 3, 6, 4, { aBatch, bBatch, transA, transB });
            check(g, `[${aBatch}] x [${bBatch}] tA=${transA} tB=${transB}`);
          }
        }
        // The example of the spec: [2,1,3,4] x [5,4,6] -> [2,5,3,6].
        const g = makeCase(rand, 3, 6, 4, { aBatch: [2, 1], bBatch: [5] });
        expect(referenceGemm(g).outBatch).toEqual([2, 5]);
        expect(runGemm(g).length).toBe(2 * 5 * 3 * 6);
        // Attention-shaped batch: many small matrices, split across threads by batch item.
        check(makeCase(rand, 32, 16, 24, { aBatch: [2, 8], bBatch: [2, 8], transB: true }), 'attention scores');
      });

      it('NaN and infinity in A reach only their own rows', (ctx) => {
        use(ctx);
        const g = makeCase(rng(4), 20, 40, 30);
        g.a[3 * 30 + 7] = Number.NaN;
        g.a[11 * 30 + 2] = Number.POSITIVE_INFINITY;
        const got = runGemm(g);
        for (let i = 0; i < 20; i++) {
          const row = Array.from(got.subarray(i * 40, (i + 1) * 40));
          if (i === 3) expect(row.every(Number.isNaN), `row 3`).toBe(true);
          else if (i === 11) expect(row.every((v) => !Number.isFinite(v)), 'row 11').toBe(true);
          else expect(row.every(Number.isFinite), `row ${i}`).toBe(true);
        }
      });
    });
  }

  it('fused bias and activations match a float64 reference', () => {
    const rand = rng(21);
    const m = 19;
    const n = 37;
    const k = 23;
    const acts = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
    const f: Record<(typeof acts)[number], (x: number, j: number, prelu: Float32Array) => number> = {
      linear: (x) => x,
      relu: (x) => Math.max(0, x),
      relu6: (x) => Math.min(Math.max(0, x), 6),
      elu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
      sigmoid: (x) => 1 / (1 + Math.exp(-x)),
      leakyrelu: (x) => (x < 0 ? 0.3 * x : x),
      prelu: (x, j, w) => (x < 0 ? w[w.length === 1 ? 0 : j]! * x : x),
    };
    for (const path of gemmPaths().filter((p) => p.available)) {
      addon!.setGemm(path.mode);
      for (const act of acts) {
        for (const biasLen of [0, 1, n]) {
          const g = makeCase(rand, m, n, k, { aBatch: [2] });
          // Scale so that relu6 and elu see both sides of their kinks.
          for (let i = 0; i < g.a.length; i++) g.a[i] = g.a[i]! * 3;
          const bias = biasLen ? Float32Array.from({ length: biasLen }, () => rand() * 4 - 2) : null;
          const prelu = Float32Array.from({ length: biasLen === 1 ? 1 : n }, () => rand());
          const c = new Float32Array(2 * m * n);
          addon!.gemm(g.a, [2], g.b, [], c, false, false, m, n, k, 1, 0, bias, act, 0.3, act === 'prelu' ? prelu : null);
          const { ref, bound } = referenceGemm(g);
          const expected = new Float64Array(ref.length);
          const tol = new Float64Array(ref.length);
          for (let i = 0; i < ref.length; i++) {
            const j = i % n;
            const x = ref[i]! + (bias ? bias[biasLen === 1 ? 0 : j]! : 0);
            expected[i] = f[act](x, j, prelu);
            // Every activation here is 1-Lipschitz times at most max(1, prelu, 0.3), plus rounding.
            tol[i] = bound[i]! + 4 * 2 ** -24 * (Math.abs(x) + 1);
          }
          const bad = firstMismatch(c, expected, tol);
          expect(bad, `${path.mode} ${act} bias=${biasLen}: ${bad}`).toBeNull();
        }
      }
    }
    addon!.setGemm('auto');
  });

  it('refuses bad arguments with a clear error instead of touching memory', () => {
    const a = new Float32Array(6);
    const b = new Float32Array(12);
    const c = new Float32Array(8);
    const call = (over: Partial<Record<string, unknown>>) => () => {
      const args = { a, aBatch: [], b, bBatch: [], c, tA: false, tB: false, m: 2, n: 4, k: 3, bias: null, act: 'linear', prelu: null, ...over };
      (addon!.gemm as (...x: unknown[]) => void)(args.a, args.aBatch, args.b, args.bBatch, args.c, args.tA, args.tB, args.m, args.n, args.k, 1, 0, args.bias, args.act, 0.2, args.prelu);
    };
    expect(call({})).not.toThrow();
    expect(call({ a: new Float32Array(5) })).toThrow(/a has 5 elements, expected 6/);
    expect(call({ c: new Float32Array(9) })).toThrow(/c has 9 elements, expected 8/);
    expect(call({ b: new Float64Array(12) })).toThrow(/b must be a Float32Array/);
    expect(call({ m: -1 })).toThrow(/m must be a non-negative integer/);
    expect(call({ k: 2.5 })).toThrow(/k must be a non-negative integer/);
    expect(call({ aBatch: [2], bBatch: [3] })).toThrow(/cannot be broadcast/);
    expect(call({ bias: new Float32Array(3) })).toThrow(/bias must have 1 or n elements/);
    expect(call({ act: 'swish' })).toThrow(/unknown activation 'swish'/);
    expect(call({ act: 'prelu' })).toThrow(/prelu activation needs prelu weights/);
    const shared = new Float32Array(20);
    expect(call({ a: shared.subarray(0, 6), c: shared.subarray(4, 12) })).toThrow(/must not share memory/);
    expect(() => addon!.setGemm('fastest' as never)).toThrow(/unknown GEMM path 'fastest'/);
    const blas = addon!.info().blas;
    if (blas) {
      // The BLAS can be chosen by name, but only the one that was found.
      expect(addon!.setGemm(blas)).toBe(blas);
      const other = blas === 'openblas' ? 'blis' : 'openblas';
      expect(() => addon!.setGemm(other)).toThrow(new RegExp(`${other} is not the BLAS found here \\(${blas} at `));
      expect(addon!.info().gemm).toBe(blas);
    } else {
      expect(() => addon!.setGemm('openblas')).toThrow(/no usable BLAS/);
    }
    addon!.setGemm('auto');
    expect(() => addon!.setThreads(0)).toThrow(/between 1 and 1024/);
  });
});

describe.skipIf(!!addon)('native SGEMM without the addon', () => {
  it('skips, saying why', (ctx) => ctx.skip(skipReason));
});
