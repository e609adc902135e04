/**
 * TensorFlow.js for the engine: the one tfjs handle every engine module imports, with the cpu
 * backend's missing kernel (a one-pass UnsortedSegmentSum) and the host-memory helpers. Starting
 * a backend (tfjs-node, native, wasm...) and the kernels it supplies are backends/start.ts's.
 */
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (tfjs-core's Node build alone has none) and the cpu backend.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';

export { tf };

// Production mode: no debug checks, and no "install tfjs-node" banner on stderr (the app says
// itself which backend runs and why).
tf.env().set('PROD', true);

/** out[ids[i]] += x[i] over rows of `inner` values: one pass, O(N * inner). */
export function unsortedSegmentSumInto(out: Float32Array | Int32Array, x: Float32Array | Int32Array, ids: ArrayLike<number>, inner: number, numSegments: number): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j]! += x[src + j]!;
  }
}

export type SegmentSumAttrs = { numSegments: number };

/**
 * UnsortedSegmentSum is the gradient of gather (the embedding lookups). wasm has none; the cpu
 * backend's compares every id with every segment (O(vocab * tokens * width): seconds per step
 * for a 30k vocabulary). Both get this one-pass version.
 */
function registerSegmentSumKernels(): void {
  tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as SegmentSumAttrs;
      const b = backend as unknown as {
        data: { get(id: unknown): { values: Float32Array | Int32Array } };
        makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
      };
      const inner = x.shape.slice(segmentIds.shape.length).reduce((a, c) => a * c, 1);
      const xv = b.data.get(x.dataId).values;
      const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
      unsortedSegmentSumInto(out, xv, b.data.get(segmentIds.dataId).values, inner, numSegments);
      return b.makeTensorInfo([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, out);
    },
  });
}
registerSegmentSumKernels();

/** True when parameters live in host memory as typed arrays (cpu, wasm, native). */
export function hostMemoryBackend(): boolean {
  const name = tf.getBackend();
  return name === 'cpu' || name === 'wasm' || name === 'native';
}

/**
 * A writable view of a tensor's storage on host-memory backends (cpu, native: the backend's own
 * array; wasm: the heap). Valid until the next tensor allocation on wasm (the heap may grow).
 */
export function hostView(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as {
    data?: { get(id: unknown): { values: Float32Array } };
    typedArrayFromHeap?(t: tf.TensorInfo): Float32Array;
  };
  if (tf.getBackend() === 'wasm' && backend.typedArrayFromHeap) return backend.typedArrayFromHeap(t);
  const entry = backend.data?.get(t.dataId);
  if (!entry || !(entry.values instanceof Float32Array)) throw new Error(`no host storage for tensor on backend ${tf.getBackend()}`);
  return entry.values;
}
