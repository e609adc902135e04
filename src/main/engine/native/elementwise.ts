/**
 * Native versions of the memory-bound kernels that dominate a training step on the JS cpu kernels
 * (measured with bench/native-profile.mjs: the cpu backend's broadcasting binary ops, reductions,
 * softmax and transpose take over 95 % of a bert-mini step once matmul is native). Each kernel
 * handles float32 (and, where noted, int32) and hands every other case to the cpu kernel, so
 * semantics never change: the 'native' backend is the cpu backend with faster kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon, NativeBinaryOp, NativeReduceOp, NativeUnaryOp } from './addon';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: MathBackendCPU; attrs?: tf.NamedAttrMap };

export const NATIVE_BINARY_OPS: readonly NativeBinaryOp[] = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference', 'Pow'];
export const NATIVE_COMPARISONS: readonly NativeBinaryOp[] = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual'];
export const NATIVE_UNARY_OPS: readonly NativeUnaryOp[] = [
  'Neg',
  'Exp',
  'Log',
  'Sqrt',
  'Rsqrt',
  'Square',
  'Abs',
  'Erf',
  'Tanh',
  'Reciprocal',
  'Relu',
  'Sigmoid',
  'Expm1',
  'Log1p',
  'Sign',
  'Relu6',
  'Elu',
  'Step',
];
export const NATIVE_REDUCTIONS: readonly NativeReduceOp[] = ['Sum', 'Mean', 'Max', 'Min'];

/** Kernel names this module registers on the native backend. */
export function nativeElementwiseKernelNames(): string[] {
  return [...NATIVE_BINARY_OPS, ...NATIVE_COMPARISONS, ...NATIVE_UNARY_OPS, ...NATIVE_REDUCTIONS, 'Softmax', 'Transpose', 'GatherV2', 'UnsortedSegmentSum'];
}

function values(backend: MathBackendCPU, t: tf.TensorInfo | undefined): tf.backend_util.TypedArray | null {
  if (!t) return null;
  const v = backend.data.get(t.dataId)?.values;
  return ArrayBuffer.isView(v) ? (v as tf.backend_util.TypedArray) : null;
}

/**
 * The values of a float32 tensor as a Float32Array. The cpu Cast kernel relabels bool and int32
 * data as float32 without converting it (no precision is lost), so a float32 tensor may hold a
 * Uint8Array or Int32Array: those are converted (a copy; the stored data is left as it is, since
 * the bool/int32 tensor it came from shares it).
 */
export function f32(backend: MathBackendCPU, t: tf.TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const v = values(backend, t);
  if (v instanceof Float32Array) return v;
  if (v instanceof Uint8Array || v instanceof Int32Array) return new Float32Array(v);
  return null;
}

/** Output storage without a zero fill: every kernel here writes every element. */
function uninitialized<T extends Float32Array | Int32Array | Uint8Array>(ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }, n: number): T {
  const bytes = Buffer.allocUnsafeSlow(n * ctor.BYTES_PER_ELEMENT);
  return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
}

function sizeOf(shape: number[]): number {
  return tf.util.sizeFromShape(shape);
}

/**
 * Registers the kernels on `backendName`, each falling back to `fallback(kernelName)` (the cpu
 * kernel) for inputs it does not handle.
 */
export function registerElementwiseKernels(
  addon: NativeAddon,
  backendName: string,
  fallback: (kernelName: string) => tf.KernelFunc,
  register: (config: tf.KernelConfig) => void,
): void {
  const reg = (kernelName: string, fn: (args: KernelArgs) => tf.TensorInfo | null) => {
    const cpu = fallback(kernelName);
    register({
      kernelName,
      backendName,
      kernelFunc: ((args: KernelArgs) => fn(args) ?? cpu(args as Parameters<tf.KernelFunc>[0])) as unknown as tf.KernelFunc,
    });
  };

  for (const op of [...NATIVE_BINARY_OPS, ...NATIVE_COMPARISONS]) {
    const comparison = NATIVE_COMPARISONS.includes(op);
    reg(op, ({ inputs, backend }) => {
      const a = inputs.a!;
      const b = inputs.b!;
      const av = f32(backend, a);
      const bv = f32(backend, b);
      if (!av || !bv) return null;
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const out = comparison ? uninitialized(Uint8Array, sizeOf(outShape)) : uninitialized(Float32Array, sizeOf(outShape));
      addon.binary(op, av, a.shape, bv, b.shape, out, outShape);
      return backend.makeTensorInfo(outShape, comparison ? 'bool' : 'float32', out);
    });
  }

  for (const op of NATIVE_UNARY_OPS) {
    reg(op, ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const xv = f32(backend, x);
      if (!xv) return null;
      const out = uninitialized(Float32Array, xv.length);
      addon.unary(op, xv, out, op === 'Step' ? Number((attrs as { alpha?: number } | undefined)?.alpha ?? 0) : 0);
      return backend.makeTensorInfo(x.shape, 'float32', out);
    });
  }

  for (const op of NATIVE_REDUCTIONS) {
    reg(op, ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const xv = f32(backend, x);
      if (!xv) return null;
      const a = (attrs ?? {}) as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims?: boolean };
      // A missing axis means every axis (parseAxisParam treats null so).
      const axis = (op === 'Max' ? a.reductionIndices : a.axis) ?? (null as unknown as number[]);
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
      // Native when the reduced dims form one block (size-1 dims in between do not matter).
      const first = axes[0];
      const last = axes[axes.length - 1];
      if (first === undefined || last === undefined) return null;
      for (let d = first; d <= last; d++) if (!axes.includes(d) && x.shape[d] !== 1) return null;
      const outer = sizeOf(x.shape.slice(0, first));
      const r = sizeOf(axes.map((d) => x.shape[d]!));
      const inner = sizeOf(x.shape.slice(last + 1));
      let outShape = x.shape.filter((_, d) => !axes.includes(d));
      if (a.keepDims) outShape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
      const out = uninitialized(Float32Array, outer * inner);
      addon.reduce(op, xv, outer, r, inner, out);
      return backend.makeTensorInfo(outShape, 'float32', out);
    });
  }

  reg('Softmax', ({ inputs, backend, attrs }) => {
    const x = inputs.logits!;
    const xv = f32(backend, x);
    const rank = x.shape.length;
    const dim = Number((attrs as { dim?: number } | undefined)?.dim ?? -1);
    if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
    const cols = x.shape[rank - 1]!;
    const out = uninitialized(Float32Array, xv.length);
    addon.softmax(xv, cols === 0 ? 0 : xv.length / cols, cols, out);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  });

  reg('Transpose', ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const perm = (attrs as { perm: number[] }).perm;
    // A permutation that keeps the order of the dims larger than 1 moves no data: share it, as
    // the Identity kernel does (the gradient of gather transposes the 30522 x 256 table so).
    const moved = perm.filter((p) => x.shape[p] !== 1);
    if (moved.every((p, i) => i === 0 || p > moved[i - 1]!)) {
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: perm.map((p) => x.shape[p]!), dtype: x.dtype };
    }
    const xv = values(backend, x);
    if (!(xv instanceof Float32Array || xv instanceof Int32Array) || (x.dtype !== 'float32' && x.dtype !== 'int32')) return null;
    const outShape = perm.map((p) => x.shape[p]!);
    const out = xv instanceof Float32Array ? uninitialized(Float32Array, xv.length) : uninitialized(Int32Array, xv.length);
    addon.transpose(xv, x.shape, perm, out);
    return backend.makeTensorInfo(outShape, x.dtype, out);
  });

  reg('UnsortedSegmentSum', ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const ids = inputs.segmentIds!;
    const numSegments = Number((attrs as { numSegments: number }).numSegments);
    const xv = f32(backend, x);
    const iv = values(backend, ids);
    if (!xv || !(iv instanceof Int32Array) || ids.dtype !== 'int32') return null;
    const rowSize = sizeOf(x.shape.slice(ids.shape.length));
    const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
    const out = uninitialized(Float32Array, numSegments * rowSize);
    addon.segmentSum(xv, rowSize, iv, numSegments, out);
    return backend.makeTensorInfo(outShape, 'float32', out);
  });

  reg('GatherV2', ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const indices = inputs.indices!;
    const a = (attrs ?? {}) as { axis?: number; batchDims?: number };
    const xv = values(backend, x);
    const iv = values(backend, indices);
    if (x.shape.length === 0 || (a.batchDims ?? 0) !== 0) return null;
    if (tf.util.parseAxisParam(a.axis ?? 0, x.shape)[0] !== 0) return null;
    if (!(iv instanceof Int32Array) || indices.dtype !== 'int32') return null;
    if (!(xv instanceof Float32Array || xv instanceof Int32Array) || (x.dtype !== 'float32' && x.dtype !== 'int32')) return null;
    const rows = x.shape[0]!;
    const rowSize = sizeOf(x.shape.slice(1));
    const outShape = [...indices.shape, ...x.shape.slice(1)];
    const out = xv instanceof Float32Array ? uninitialized(Float32Array, iv.length * rowSize) : uninitialized(Int32Array, iv.length * rowSize);
    try {
      addon.gatherRows(xv, rows, rowSize, iv, out);
    } catch (err) {
      throw new Error(`GatherV2: ${(err as Error).message}`);
    }
    return backend.makeTensorInfo(outShape, x.dtype, out);
  });
}
