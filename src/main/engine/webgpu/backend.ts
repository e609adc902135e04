/**
 * The `webgpu` training backend: tfjs's WebGPU backend on a device that device.ts chose.
 *
 * Two things the stock backend does not do, done here:
 * - its buffer pool never frees (2.09 GB held for 223 MB of live tensors on bert-mini): between
 *   steps, trimPool() destroys the free buffers, keeping the pool's keys so the manager's
 *   releaseBuffer (which returns early on an empty map) keeps returning buffers to it;
 * - validation errors are events, not exceptions: DeviceErrors turns them into one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DeviceErrors, openWebGpu, type WebGpuAdapterReport } from './device';

export interface WebGpuBackendHandle {
  report: WebGpuAdapterReport;
  errors: DeviceErrors;
  /** Destroys the pool's free buffers; returns the bytes given back to the driver. */
  trimPool(): number;
  /** Bytes the pool holds (in use + free). */
  poolBytes(): { used: number; allocated: number };
  /** The device's storage buffers per shader stage (the fused kernels' bindings fit in it). */
  maxStorageBuffers: number;
}

interface BufferManagerLike {
  freeBuffers: Map<string, { destroy(): void; size: number }[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
  numBytesUsed: number;
}

let handle: WebGpuBackendHandle | null = null;

/**
 * Registers and activates the `webgpu` tfjs backend. Returns null with the reason when no adapter
 * qualifies (then the caller moves on to the next backend, saying why).
 */
export async function startWebGpuBackend(options: { allowSoftware: boolean }): Promise<{ ok: true; handle: WebGpuBackendHandle } | { ok: false; reason: string }> {
  if (handle && tf.getBackend() === 'webgpu') return { ok: true, handle };
  const opened = await openWebGpu(options);
  if (!opened.ok) return { ok: false, reason: opened.reason };
  const { WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend & { bufferManager: BufferManagerLike };
  };
  const backend = new WebGPUBackend(opened.device, opened.adapterInfo);
  // The package registers its own factory at import once navigator.gpu exists; ours (this device) replaces it.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => backend, 3);
  if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: 'the webgpu backend did not initialise' };
  chunkAddN(Math.max(2, (opened.device.limits.maxStorageBuffersPerShaderStage ?? 8) - 1));
  const errors = new DeviceErrors(opened.device);
  const manager = backend.bufferManager;
  handle = {
    report: opened.report,
    errors,
    trimPool() {
      let freed = 0;
      for (const list of manager.freeBuffers.values()) {
        for (const b of list) {
          freed += b.size;
          b.destroy();
        }
        list.length = 0;
      }
      manager.numFreeBuffers = 0;
      manager.numBytesAllocated -= freed;
      return freed;
    },
    poolBytes: () => ({ used: manager.numBytesUsed, allocated: manager.numBytesAllocated }),
    maxStorageBuffers: opened.device.limits.maxStorageBuffersPerShaderStage ?? 8,
  };
  return { ok: true, handle };
}

/**
 * tfjs's webgpu AddN binds one storage buffer per input: past the device's per-stage limit (8 by
 * default, 16 on many adapters) the shader fails validation and the result is zeros (this turned
 * gradient clipping into a no-op). AddN is re-registered to sum at most `perShader` inputs at a
 * time, with the stock kernel, disposing the partial sums.
 */
function chunkAddN(perShader: number): void {
  const stock = tf.getKernel('AddN', 'webgpu');
  if (!stock || (stock as { chunked?: boolean }).chunked) return;
  const stockFunc = stock.kernelFunc;
  tf.unregisterKernel('AddN', 'webgpu');
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    let parts = inputs as unknown as tf.TensorInfo[];
    const temporaries: tf.TensorInfo[] = [];
    while (parts.length > perShader) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < parts.length; i += perShader) {
        const chunk = parts.slice(i, i + perShader);
        if (chunk.length === 1) next.push(chunk[0]!);
        else {
          const sum = stockFunc({ inputs: chunk as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
          temporaries.push(sum);
          next.push(sum);
        }
      }
      parts = next;
    }
    const out = stockFunc({ inputs: parts as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
    for (const t of temporaries) (backend as tf.KernelBackend).disposeData(t.dataId);
    return out;
  };
  tf.registerKernel({ kernelName: 'AddN', backendName: 'webgpu', kernelFunc, setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc });
  Object.assign(tf.getKernel('AddN', 'webgpu')!, { chunked: true });
}
