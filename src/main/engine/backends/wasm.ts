/**
 * The wasm backend's start-up: load @tensorflow/tfjs-backend-wasm from its own folder and supply
 * the kernels it lacks or gets wrong (UnsortedSegmentSum, _FusedMatMul with transposeB), so a
 * missing kernel never silently moves work to another backend.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { tf, unsortedSegmentSumInto, type SegmentSumAttrs } from '../tf';

const requireHere = createRequire(import.meta.url);

function registerWasmKernels(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as SegmentSumAttrs;
      const b = backend as unknown as {
        makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
      };
      const inner = x.shape.slice(segmentIds.shape.length).reduce((a, c) => a * c, 1);
      const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
      unsortedSegmentSumInto(b.typedArrayFromHeap(out), b.typedArrayFromHeap(x), b.typedArrayFromHeap(segmentIds), inner, numSegments);
      return out;
    },
  });
}

/**
 * wasm's _FusedMatMul adds the bias at the wrong offsets when transposeB is set (checked against
 * the cpu backend: errors of order 1). Replace it with its own BatchMatMul, then Add, then the
 * activation kernel, all on wasm.
 */
function registerWasmFusedMatMul(): void {
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const add = tf.getKernel('Add', 'wasm');
  if (!matMul || !add) return;
  tf.unregisterKernel('_FusedMatMul', 'wasm');
  tf.registerKernel({
    kernelName: '_FusedMatMul',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { a, b, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
      const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
        activation: string;
        leakyreluAlpha?: number;
      };
      const dispose = (t: tf.TensorInfo): void => (backend as unknown as { disposeData(id: unknown): void }).disposeData(t.dataId);
      let out = matMul.kernelFunc({ inputs: { a: a!, b: b! }, attrs: { transposeA, transposeB }, backend }) as tf.TensorInfo;
      if (bias) {
        const next = add.kernelFunc({ inputs: { a: out, b: bias }, attrs: {}, backend }) as tf.TensorInfo;
        dispose(out);
        out = next;
      }
      if (activation && activation !== 'linear') {
        const names: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu' };
        const kernel = tf.getKernel(names[activation] ?? '', 'wasm');
        if (!kernel) throw new Error(`fused activation ${activation} is not supported on wasm`);
        const actInputs: Record<string, tf.TensorInfo> = activation === 'prelu' ? { x: out, alpha: preluActivationWeights! } : { x: out };
        const next = kernel.kernelFunc({ inputs: actInputs, attrs: activation === 'leakyrelu' ? { alpha: leakyreluAlpha ?? 0.2 } : {}, backend }) as tf.TensorInfo;
        dispose(out);
        out = next;
      }
      return out;
    },
  });
}

let wasmReady: Promise<void> | null = null;
export async function initWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(path.join(dist, 'dist') + path.sep);
    registerWasmKernels();
    registerWasmFusedMatMul();
  })();
  return wasmReady;
}
