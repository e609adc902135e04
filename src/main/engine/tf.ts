/**
 * TensorFlow.js for the engine: picks and initialises the backend (best first: tfjs-node-gpu,
 * tfjs-node, native kernels, wasm, cpu) and supplies the kernels a backend lacks, so that a
 * missing kernel never silently moves work to another backend.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (tfjs-core's Node build alone has none) and the cpu backend.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import type { BackendInfo, BackendName } from '../../shared/types';
import { backendInfo, forcedBackend, tfjsNodeInstalled } from './backend';
import { setNativeOps } from './ops';
import { setHostAddon } from './models/host';
import { setAdamWKernel, setSumOfSquares } from './optimizer';

export { tf };

const requireHere = createRequire(import.meta.url);

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

type SegmentSumAttrs = { numSegments: number };

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
async function initWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(path.join(dist, 'dist') + path.sep);
    registerWasmKernels();
    registerWasmFusedMatMul();
  })();
  return wasmReady;
}

async function trySet(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** What the user asked for (FINETUNE_BACKEND) or the best that loads here. */
export async function initBackend(preferred?: BackendName | null): Promise<BackendInfo> {
  const wanted = preferred ?? forcedBackend();
  const tried: string[] = [];
  const order: BackendName[] = wanted ? [wanted] : ['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'];
  for (const name of order) {
    const result = await loadBackend(name);
    if (result === true) {
      const why = wanted ? `chosen by request` : tried.length ? `best available (${tried.join('; ')})` : 'best available';
      return backendInfo(name, why);
    }
    tried.push(`${name}: ${result}`);
  }
  if (wanted) throw new Error(`The ${wanted} backend cannot run here: ${tried.join('; ')}`);
  throw new Error(`No TensorFlow.js backend could start: ${tried.join('; ')}`);
}

/** Loads one backend and makes it current; true, or the reason it cannot run. */
async function loadBackend(name: BackendName): Promise<true | string> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      if (!tfjsNodeInstalled(pkg)) return `${pkg} is not installed`;
      try {
        await import(pkg);
      } catch (err) {
        return `${pkg} failed to load (${(err as Error).message.split('\n')[0]})`;
      }
      return (await trySet('tensorflow')) ? true : `${pkg} loaded but its backend did not start`;
    }
    case 'native': {
      try {
        const native = await import('./native/index');
        const r = native.registerNativeBackend();
        if (!r.ok) return r.reason;
        if (!(await trySet('native'))) return 'native backend did not start';
        // Fused GELU, layer norm, softmax and dropout; the AdamW update and the gradient norm in C.
        setNativeOps(native.nativeOps());
        const addon = native.loadNativeAddon();
        setHostAddon(addon.ok ? addon.addon : null);
        setAdamWKernel(native.nativeAdamWKernel());
        setSumOfSquares(native.nativeSumOfSquares());
        return true;
      } catch (err) {
        return `native kernels unavailable (${(err as Error).message.split('\n')[0]})`;
      }
    }
    case 'wasm':
      try {
        await initWasm();
      } catch (err) {
        return `wasm backend failed to load (${(err as Error).message})`;
      }
      return (await trySet('wasm')) ? true : 'wasm backend did not start';
    case 'cpu':
      return (await trySet('cpu')) ? true : 'cpu backend did not start';
  }
}

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
