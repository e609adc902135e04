/**
 * Finds and loads the native kernels addon (native/binding.gyp, built by scripts/build-native.mjs).
 * Loading never throws: it answers with the addon or with a one-line reason, so the engine can say
 * why it runs on a pure backend instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { readEnvironment } from '../../environment';

/** Version the TypeScript side expects from the addon's info().version. */
export const NATIVE_ADDON_VERSION = '4';

export const ADDON_FILE = 'finetune_native.node';

export type GemmName =
  | 'openblas'
  | 'blis'
  | 'accelerate'
  | 'own-avx512'
  | 'own-avx2'
  | 'own-neon'
  | 'own-scalar';

/**
 * Values of FINETUNE_NATIVE_GEMM / the gemm option: a policy (auto, blas, own) or one specific
 * path (an own kernel, or the BLAS by name, which must be the one found).
 */
export const GEMM_MODES = [
  'auto',
  'blas',
  'own',
  'own-avx512',
  'own-avx2',
  'own-neon',
  'own-scalar',
  'openblas',
  'blis',
  'accelerate',
] as const;
export type GemmMode = (typeof GEMM_MODES)[number];

/** 'gelu' is the exact (erf) GELU, 'gelu_new' its tanh form: fused into the GEMM epilogue. */
export type NativeActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu' | 'gelu' | 'gelu_new';

export type NativeBinaryOp =
  | 'Add'
  | 'Sub'
  | 'Multiply'
  | 'RealDiv'
  | 'Maximum'
  | 'Minimum'
  | 'SquaredDifference'
  | 'Pow'
  | 'Greater'
  | 'GreaterEqual'
  | 'Less'
  | 'LessEqual'
  | 'Equal'
  | 'NotEqual';
export type NativeUnaryOp =
  | 'Neg'
  | 'Exp'
  | 'Log'
  | 'Sqrt'
  | 'Rsqrt'
  | 'Square'
  | 'Abs'
  | 'Erf'
  | 'Tanh'
  | 'Reciprocal'
  | 'Relu'
  | 'Sigmoid'
  | 'Expm1'
  | 'Log1p'
  | 'Sign'
  | 'Relu6'
  | 'Elu'
  | 'Step';
export type NativeReduceOp = 'Sum' | 'Mean' | 'Max' | 'Min';

export interface NativeAddonInfo {
  version: string;
  gemm: GemmName;
  ownKernels: GemmName[];
  blas: 'openblas' | 'blis' | 'accelerate' | null;
  blasPath: string | null;
  blasDetail: string | null;
  blasError: string | null;
  /** Vectorised math set in use for exp/erf/tanh/GELU/softmax/dropout: 'avx512', 'avx2' or 'generic'. */
  math: string;
  threads: number;
  defaultThreads: number;
  threadSource: string;
  arch: string;
}

/** The raw addon. Arrays are row-major; see native/src/addon.cc for the contract. */
export interface NativeAddon {
  /**
   * c[batch] = act(alpha * op(a[batch]) op(b[batch]) + beta * c[batch] + bias), with numpy
   * broadcasting of the batch dims aBatch and bBatch. op(a) is m x k, op(b) is k x n. Lengths are
   * checked exactly; c must not overlap a or b.
   */
  gemm(
    a: Float32Array,
    aBatch: number[],
    b: Float32Array,
    bBatch: number[],
    c: Float32Array,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    beta: number,
    bias: Float32Array | null,
    activation: NativeActivation,
    leakyAlpha: number,
    prelu: Float32Array | null,
  ): void;
  /** out = a op b with numpy broadcasting; comparisons (Greater...) write 0/1 into a Uint8Array. */
  binary(
    op: NativeBinaryOp,
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    out: Float32Array | Uint8Array,
    outShape: number[],
  ): void;
  /** out[i] = op(x[i]); alpha is Step's value for x <= 0. out may be x itself. */
  unary(op: NativeUnaryOp, x: Float32Array, out: Float32Array, alpha: number): void;
  /** x viewed as [outer, r, inner] reduced over r into out [outer, inner]; sums in double. */
  reduce(op: NativeReduceOp, x: Float32Array, outer: number, r: number, inner: number, out: Float32Array): void;
  /** Row-wise softmax of x [rows, cols]. */
  softmax(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /** out = transpose(x, perm), 4-byte elements. */
  transpose<T extends Float32Array | Int32Array>(x: T, shape: number[], perm: number[], out: T): void;
  /** out[i, :] = x[indices[i], :]; throws a RangeError naming the first index outside [0, rows). */
  gatherRows<T extends Float32Array | Int32Array>(x: T, rows: number, rowSize: number, indices: Int32Array, out: T): void;
  /** In-place AdamW step (bit-identical to adamwUpdateJs in engine/optimizer.ts). */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    decay: number,
    beta1: number,
    beta2: number,
    stepSize: number,
    bc2Sqrt: number,
    eps: number,
    gradScale: number,
  ): void;
  /** Sum of squares in double, the same for any thread count. */
  sumSquares(x: Float32Array): number;
  /** out[ids[i], :] += x[i, :] (out is zeroed first); ids outside [0, numSegments) are skipped. */
  segmentSum(x: Float32Array, rowSize: number, ids: Int32Array, numSegments: number, out: Float32Array): void;
  /** GELU, 'erf' (exact) or 'tanh' (gelu_new / gelu_pytorch_tanh) form, computed in double. */
  gelu(x: Float32Array, out: Float32Array, approximate: 'erf' | 'tanh'): void;
  /** dx = dy * gelu'(x). */
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, approximate: 'erf' | 'tanh'): void;
  /** Layer norm over rows of x [rows, cols] with the biased variance (torch.nn.LayerNorm). */
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, rows: number, cols: number, eps: number, y: Float32Array): void;
  /** Its gradient: dx, and dgamma/dbeta summed over the rows (row statistics recomputed from x). */
  layerNormGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    rows: number,
    cols: number,
    eps: number,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
  ): void;
  /** dx = y * (dy - sum(dy * y)) over rows. */
  softmaxGrad(dy: Float32Array, y: Float32Array, rows: number, cols: number, dx: Float32Array): void;
  /** out = x * keep / (1 - rate), keep from a counter-based generator keyed by seed (0 <= seed < 2^53). */
  dropout(x: Float32Array, rate: number, seed: number, out: Float32Array): void;
  /** Selects the GEMM path; throws with the reason when it is unavailable. */
  setGemm(mode: GemmMode): GemmName;
  setThreads(n: number): number;
  /** Chooses the vectorised math set ('auto', 'avx512', 'avx2', 'generic'); all give identical results. */
  setMath(name: 'auto' | 'avx512' | 'avx2' | 'generic'): string;
  info(): NativeAddonInfo;
}

export type AddonLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

const requireNative = createRequire(import.meta.url);

/** Where the addon may be, most specific first. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  const explicit = readEnvironment(env).nativeAddon;
  if (explicit) return [path.resolve(explicit)];
  const rel = path.join('native', 'build', 'Release', ADDON_FILE);
  const resourcesPath = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) {
    // Packaged Electron app: electron-builder's asarUnpack keeps the .node file outside the archive.
    out.push(path.join(resourcesPath, 'app.asar.unpacked', rel));
    out.push(path.join(resourcesPath, rel));
  }
  // This module lives in src/main/engine/native (tests, tsx) or is bundled into out/main.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(path.join(dir, rel).replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2'));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  out.push(path.join(process.cwd(), rel));
  return [...new Set(out)];
}

const loaded = new Map<string, AddonLoad>();

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

/**
 * Loads the addon (once per file and process). FINETUNE_NATIVE=off disables it;
 * FINETUNE_NATIVE_ADDON names the file to load instead of searching.
 */
export function loadNativeAddon(env: NodeJS.ProcessEnv = process.env): AddonLoad {
  const configured = readEnvironment(env);
  if (configured.nativeDisabled) {
    return { ok: false, reason: `disabled by FINETUNE_NATIVE=${configured.nativeSwitch}` };
  }
  const candidates = addonCandidates(env);
  const file = candidates.find((p) => fs.existsSync(p));
  if (!file) {
    return {
      ok: false,
      reason: `the addon is not built (no ${candidates[0]}); build it with "node scripts/build-native.mjs"`,
    };
  }
  const known = loaded.get(file);
  if (known) return known;
  let result: AddonLoad;
  try {
    const addon = requireNative(file) as NativeAddon;
    const info = addon.info();
    result =
      info.version === NATIVE_ADDON_VERSION
        ? { ok: true, addon, path: file }
        : {
            ok: false,
            reason: `${file} is version ${info.version}, expected ${NATIVE_ADDON_VERSION}; rebuild it with "node scripts/build-native.mjs"`,
          };
  } catch (err) {
    result = { ok: false, reason: `${file} could not be loaded: ${firstLine(err)}` };
  }
  loaded.set(file, result);
  return result;
}
