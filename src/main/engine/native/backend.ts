/**
 * The 'native' TensorFlow.js backend: a MathBackendCPU (same tensor storage, every cpu kernel)
 * whose BatchMatMul and _FusedMatMul run on the native SGEMM (platform BLAS or own kernels,
 * multithreaded), and whose memory-bound hot kernels (broadcasting arithmetic, reductions,
 * softmax, transpose, gather: see elementwise.ts) run natively on the same threads. The 'cpu' backend stays pure JavaScript, so both can be compared in one
 * process, and the backend name shown to the user says what really runs.
 *
 * Gradients need nothing extra: tfjs expresses the BatchMatMul and fused matMul gradients with
 * matMul ops, which run on these kernels too.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  GEMM_MODES,
  loadNativeAddon,
  type GemmMode,
  type GemmName,
  type NativeActivation,
  type NativeAddon,
} from './addon';
import { f32, registerElementwiseKernels } from './elementwise';
import { createNativeOps, registerFusedKernels, type NativeOps } from './ops';
import { readEnvironment } from '../../environment';

export const NATIVE_BACKEND = 'native';

export type NativeRegistration =
  | { ok: true; gemm: GemmName; threads: number }
  | { ok: false; reason: string };

export interface NativeBackendOptions {
  /** GEMM path; default FINETUNE_NATIVE_GEMM, else 'auto' (BLAS when found, else own kernels). */
  gemm?: GemmMode;
  /** Threads for the native GEMM; default FINETUNE_THREADS, else the physical cores. */
  threads?: number;
  /** Priority for tf.registerBackend; 0 keeps the backend out of tfjs's automatic choice. */
  priority?: number;
  env?: NodeJS.ProcessEnv;
}

const UNAVAILABLE = 'native kernels unavailable';

function unavailable(reason: string): NativeRegistration {
  return { ok: false, reason: `${UNAVAILABLE}: ${reason}` };
}

function parseGemmMode(value: string | undefined, source: string): GemmMode | string {
  const v = (value ?? 'auto').trim().toLowerCase() || 'auto';
  if ((GEMM_MODES as readonly string[]).includes(v)) return v as GemmMode;
  return `${source}=${value} is not one of ${GEMM_MODES.join(', ')}`;
}

function parseThreads(value: string | number | undefined, source: string): number | string | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > 1024) return `${source}=${value} is not a whole number from 1 to 1024`;
  return n;
}

let addonInUse: NativeAddon | null = null;

/**
 * Registers the 'native' backend (idempotent; a later call re-applies the options and copies any
 * cpu kernel registered since). It does not make it the active backend: call
 * tf.setBackend('native').
 */
export function registerNativeBackend(options: NativeBackendOptions = {}): NativeRegistration {
  const env = options.env ?? process.env;
  const load = loadNativeAddon(env);
  if (!load.ok) return unavailable(load.reason);
  const addon = load.addon;

  const configured = readEnvironment(env);
  const mode = options.gemm ?? parseGemmMode(configured.nativeGemm ?? undefined, 'FINETUNE_NATIVE_GEMM');
  if (!(GEMM_MODES as readonly string[]).includes(mode)) return unavailable(mode);
  const threads =
    options.threads !== undefined
      ? parseThreads(options.threads, 'threads')
      : parseThreads(configured.threads ?? undefined, 'FINETUNE_THREADS');
  if (typeof threads === 'string') return unavailable(threads);

  let gemm: GemmName;
  try {
    gemm = addon.setGemm(mode as GemmMode);
    addon.setThreads(threads ?? addon.info().defaultThreads);
  } catch (err) {
    return unavailable(err instanceof Error ? err.message : String(err));
  }

  if (!tf.findBackendFactory(NATIVE_BACKEND)) {
    tf.registerBackend(NATIVE_BACKEND, () => new MathBackendCPU(), options.priority ?? 0);
  }
  addonInUse = addon;
  copyCpuKernels();
  registerNativeKernels(addon);
  return { ok: true, gemm, threads: addon.info().threads };
}

/**
 * Gives 'native' every kernel of 'cpu' it lacks. registerNativeBackend calls it; call it again
 * after registering extra kernels for 'cpu' if they should run on 'native' too.
 */
export function copyCpuKernels(): void {
  const have = new Set(tf.getKernelsForBackend(NATIVE_BACKEND).map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (!have.has(k.kernelName)) tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  }
}

function override(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, NATIVE_BACKEND)) tf.unregisterKernel(config.kernelName, NATIVE_BACKEND);
  tf.registerKernel(config);
}

function registerNativeKernels(addon: NativeAddon): void {
  override({ kernelName: tf.BatchMatMul, backendName: NATIVE_BACKEND, kernelFunc: batchMatMulKernel as unknown as tf.KernelFunc });
  override({ kernelName: tf._FusedMatMul, backendName: NATIVE_BACKEND, kernelFunc: fusedMatMulKernel as unknown as tf.KernelFunc });
  registerElementwiseKernels(addon, NATIVE_BACKEND, cpuKernel, override);
  registerFusedKernels(addon, NATIVE_BACKEND, override);
}

let ops: NativeOps | null = null;

/**
 * The fused ops (GELU, layer norm, softmax with a one-pass gradient, dropout) once
 * registerNativeBackend succeeded, else null. They run only while 'native' is the active backend.
 */
export function nativeOps(): NativeOps | null {
  if (!addonInUse) return null;
  ops ??= createNativeOps(NATIVE_BACKEND);
  return ops;
}

// ------------------------------------------------------------------------------------------------
// Kernels

interface KernelArgs<I, A> {
  inputs: I;
  backend: MathBackendCPU;
  attrs: A;
}

function cpuKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`the cpu backend has no ${name} kernel`);
  return k.kernelFunc;
}

function float32Values(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  return f32(backend, t);
}

interface MatMulShape {
  m: number;
  n: number;
  k: number;
  aBatch: number[];
  bBatch: number[];
  outShape: number[];
}

function matMulShape(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): MatMulShape | null {
  const ar = a.shape.length;
  const br = b.shape.length;
  if (ar < 2 || br < 2) return null;
  const m = transposeA ? a.shape[ar - 1]! : a.shape[ar - 2]!;
  const k = transposeA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const kb = transposeB ? b.shape[br - 1]! : b.shape[br - 2]!;
  const n = transposeB ? b.shape[br - 2]! : b.shape[br - 1]!;
  tf.util.assert(
    k === kb,
    () =>
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and ` +
      `transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  return { m, n, k, aBatch, bBatch, outShape: [...outBatch, m, n] };
}

/**
 * An output array without the zero fill: the GEMM writes every element (C is never read when
 * beta = 0). Measured at 2048x256 outputs, a zero-filled fresh array costs 0.4-0.6 ms more per
 * call, mostly in page faults taken by the worker threads.
 */
function uninitializedFloat32(length: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(length * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, length);
}

function nativeMatMul(
  backend: MathBackendCPU,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue?: { bias: Float32Array | null; activation: NativeActivation; leakyAlpha: number; prelu: Float32Array | null },
): tf.TensorInfo | null {
  const av = float32Values(backend, a);
  const bv = float32Values(backend, b);
  if (!av || !bv || !addonInUse) return null;
  const s = matMulShape(a, b, transposeA, transposeB);
  if (!s) return null;
  const out = uninitializedFloat32(tf.util.sizeFromShape(s.outShape));
  addonInUse.gemm(
    av,
    s.aBatch,
    bv,
    s.bBatch,
    out,
    transposeA,
    transposeB,
    s.m,
    s.n,
    s.k,
    1,
    0,
    epilogue?.bias ?? null,
    epilogue?.activation ?? 'linear',
    epilogue?.leakyAlpha ?? 0,
    epilogue?.prelu ?? null,
  );
  return backend.makeTensorInfo(s.outShape, 'float32', out);
}

function batchMatMulKernel(args: KernelArgs<tf.BatchMatMulInputs, tf.BatchMatMulAttrs>): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  return (
    nativeMatMul(backend, a, b, attrs.transposeA, attrs.transposeB) ??
    (cpuKernel(tf.BatchMatMul)(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo)
  );
}

const NATIVE_ACTIVATIONS = new Set<string>(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu']);

/** Values of a tensor that broadcasts along the last output dim only (shape [..1.., n] or size 1). */
function perColumn(backend: MathBackendCPU, t: tf.TensorInfo | undefined, n: number): Float32Array | null | undefined {
  if (!t) return undefined;
  const v = float32Values(backend, t);
  if (!v) return null;
  if (v.length === 1) return v;
  const last = t.shape[t.shape.length - 1];
  return v.length === n && last === n ? v : null;
}

function fusedMatMulKernel(args: KernelArgs<tf._FusedMatMulInputs, tf._FusedMatMulAttrs>): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  const bias = inputs.bias as tf.TensorInfo | undefined;
  const prelu = inputs.preluActivationWeights as tf.TensorInfo | undefined;
  const { transposeA, transposeB } = attrs;
  const activation = (attrs.activation ?? 'linear') as string;
  const leakyAlpha = attrs.leakyreluAlpha ?? 0.2;

  const ar = a.shape.length;
  const br = b.shape.length;
  const n = br >= 2 ? (transposeB ? b.shape[br - 2]! : b.shape[br - 1]!) : -1;
  const biasValues = perColumn(backend, bias, n);
  const preluValues = activation === 'prelu' ? perColumn(backend, prelu, n) : undefined;
  const fusable =
    ar >= 2 &&
    br >= 2 &&
    NATIVE_ACTIVATIONS.has(activation) &&
    biasValues !== null &&
    (activation !== 'prelu' || (preluValues !== null && preluValues !== undefined));
  if (fusable) {
    const out = nativeMatMul(backend, a, b, transposeA, transposeB, {
      bias: biasValues ?? null,
      activation: activation as NativeActivation,
      leakyAlpha,
      prelu: preluValues ?? null,
    });
    if (out) return out;
  }
  // Bias or prelu weights that broadcast along other dims: native product, then the cpu kernels.
  const product = batchMatMulKernel({ inputs: { a, b }, backend, attrs: { transposeA, transposeB } });
  let current = product;
  const intermediates: tf.TensorInfo[] = [];
  const run = (name: string, kernelInputs: tf.NamedTensorInfoMap, kernelAttrs: tf.NamedAttrMap = {}) =>
    cpuKernel(name)({ inputs: kernelInputs, backend, attrs: kernelAttrs }) as tf.TensorInfo;
  if (bias) {
    intermediates.push(current);
    current = run(tf.Add, { a: current, b: bias });
  }
  const unary: Record<string, string> = {
    relu: tf.Relu,
    relu6: tf.Relu6,
    elu: tf.Elu,
    sigmoid: tf.Sigmoid,
  };
  if (activation !== 'linear') {
    intermediates.push(current);
    if (unary[activation]) current = run(unary[activation]!, { x: current });
    else if (activation === 'leakyrelu') current = run(tf.LeakyRelu, { x: current }, { alpha: leakyAlpha });
    else if (activation === 'prelu' && prelu) current = run(tf.Prelu, { x: current, alpha: prelu });
    else throw new Error(`Activation ${activation} has not been implemented for the native backend.`);
  }
  for (const t of intermediates) backend.disposeIntermediateTensorInfo(t);
  return current;
}
