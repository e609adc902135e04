/**
 * Shared by the native kernel tests: the addon (or the visible reason it is missing), a seeded
 * random source, a float64 reference GEMM with numpy batch broadcasting, and an error bound.
 */
import { loadNativeAddon, type GemmMode, type NativeAddon } from '../../src/main/engine/native/addon';

export const addonLoad = loadNativeAddon();
export const addon: NativeAddon | null = addonLoad.ok ? addonLoad.addon : null;
export const skipReason = addonLoad.ok ? '' : `native addon not available: ${addonLoad.reason}`;
if (!addonLoad.ok) console.warn(`[test/native] SKIPPED: ${skipReason}`);

/** Every GEMM path this build and machine can run: the BLAS (if found) and each own kernel. */
export function gemmPaths(): { mode: GemmMode; available: boolean; why: string }[] {
  if (!addon) return [];
  const info = addon.info();
  const blas = { mode: 'blas' as const, available: info.blas !== null, why: info.blasError ?? '' };
  // Own kernel names are GEMM modes too ('own-avx2' forces that kernel).
  return [blas, ...info.ownKernels.map((k) => ({ mode: k as GemmMode, available: true, why: '' }))];
}

/** mulberry32: small, seedable, good enough for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

export function broadcastBatch(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    const x = a[d - (rank - a.length)] ?? 1;
    const y = b[d - (rank - b.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`cannot broadcast ${a} and ${b}`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Flat index into a batch of shape `batch` for the output multi-index `idx` (right-aligned). */
function batchIndex(batch: number[], idx: number[]): number {
  let flat = 0;
  const off = idx.length - batch.length;
  for (let d = 0; d < batch.length; d++) flat = flat * batch[d]! + (batch[d] === 1 ? 0 : idx[d + off]!);
  return flat;
}

export interface GemmCase {
  a: Float32Array;
  aBatch: number[];
  b: Float32Array;
  bBatch: number[];
  c0: Float32Array; // C before the call (beta != 0 reads it)
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
}

/**
 * Float64 reference and a per-element error bound: a float32 dot product of length k has error at
 * most about k * 2^-24 * sum|a||b| (with FMA, any summation order); twice that plus the rounding
 * of the beta term covers every correct implementation, while a wrong element is off by the size
 * of the terms themselves.
 */
export function referenceGemm(g: GemmCase): { ref: Float64Array; bound: Float64Array; outBatch: number[] } {
  const outBatch = broadcastBatch(g.aBatch, g.bBatch);
  const count = outBatch.reduce((x, y) => x * y, 1);
  const { m, n, k } = g;
  const ref = new Float64Array(count * m * n);
  const bound = new Float64Array(count * m * n);
  const eps = 2 ** -24;
  const idx = new Array<number>(outBatch.length).fill(0);
  for (let t = 0; t < count; t++) {
    const ai = batchIndex(g.aBatch, idx) * m * k;
    const bi = batchIndex(g.bBatch, idx) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let abs = 0;
        for (let p = 0; p < k; p++) {
          const av = g.transA ? g.a[ai + p * m + i]! : g.a[ai + i * k + p]!;
          const bv = g.transB ? g.b[bi + j * k + p]! : g.b[bi + p * n + j]!;
          s += av * bv;
          abs += Math.abs(av * bv);
        }
        const o = t * m * n + i * n + j;
        const cin = g.beta === 0 ? 0 : g.c0[o]!;
        ref[o] = g.alpha * s + g.beta * cin;
        bound[o] = 2 * (k + 2) * eps * (Math.abs(g.alpha) * abs + Math.abs(g.beta * cin)) + 2 * eps * Math.abs(ref[o]!) + 1e-30;
      }
    }
    for (let d = outBatch.length - 1; d >= 0; d--) {
      if (++idx[d]! < outBatch[d]!) break;
      idx[d] = 0;
    }
  }
  return { ref, bound, outBatch };
}

/** Index and values of the first element outside its bound, or null. */
export function firstMismatch(got: ArrayLike<number>, ref: ArrayLike<number>, bound: ArrayLike<number>): string | null {
  if (got.length !== ref.length) return `length ${got.length} != ${ref.length}`;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    if (!(err <= bound[i]!)) return `element ${i}: got ${got[i]}, expected ${ref[i]} (error ${err}, bound ${bound[i]})`;
  }
  return null;
}

export function runGemm(g: GemmCase): Float32Array {
  const outBatch = broadcastBatch(g.aBatch, g.bBatch);
  const c = Float32Array.from(g.c0.length ? g.c0 : new Float32Array(outBatch.reduce((x, y) => x * y, 1) * g.m * g.n));
  addon!.gemm(g.a, g.aBatch, g.b, g.bBatch, c, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, null, 'linear', 0, null);
  return c;
}

export function makeCase(
  rand: () => number,
  m: number,
  n: number,
  k: number,
  opts: Partial<Pick<GemmCase, 'aBatch' | 'bBatch' | 'transA' | 'transB' | 'alpha' | 'beta'>> = {},
): GemmCase {
  const aBatch = opts.aBatch ?? [];
  const bBatch = opts.bBatch ?? [];
  const na = aBatch.reduce((x, y) => x * y, 1);
  const nb = bBatch.reduce((x, y) => x * y, 1);
  const nc = broadcastBatch(aBatch, bBatch).reduce((x, y) => x * y, 1);
  const beta = opts.beta ?? 0;
  // With beta == 0, C starts as NaN: BLAS semantics say C is then not read.
  const c0 = beta === 0 ? new Float32Array(nc * m * n).fill(Number.NaN) : randomArray(nc * m * n, rand);
  return {
    a: randomArray(na * m * k, rand),
    aBatch,
    b: randomArray(nb * k * n, rand),
    bBatch,
    c0,
    transA: opts.transA ?? false,
    transB: opts.transB ?? false,
    m,
    n,
    k,
    alpha: opts.alpha ?? 1,
    beta,
  };
}
