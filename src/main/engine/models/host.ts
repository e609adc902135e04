/**
 * The eval-mode forward pass on the native backend without tfjs ops: the same modules and
 * weights (read in place from the backend's arrays), called straight into the addon's GEMM and
 * fused kernels with scratch buffers that are reused from batch to batch. Inference is where
 * this pays: no tape, no intermediate tensors, no fresh (page-faulting) output arrays.
 * Training keeps the tfjs path, which gives the gradients.
 */
import type { Kernels } from '../kernels';
import type { NativeActivation, NativeAddon } from '../native/index';
import { hostView, tf } from '../tf';
import type { BatchTensors } from './layers';

/** The inputs of one padded batch, as host arrays. */
export interface HostInputs {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  positionIds: Int32Array;
  tokenTypeIds: Int32Array | null;
  /** [B * T]: 0 for real keys, float32 min for padding. */
  mask: Float32Array;
  clsIndex: Int32Array;
}

export function hostInputs(batch: BatchTensors): HostInputs {
  return {
    batchSize: batch.batchSize,
    seqLen: batch.seqLen,
    inputIds: batch.inputIds.dataSync() as Int32Array,
    positionIds: batch.positionIds.dataSync() as Int32Array,
    tokenTypeIds: batch.tokenTypeIds ? (batch.tokenTypeIds.dataSync() as Int32Array) : null,
    mask: batch.additiveMask.dataSync() as Float32Array,
    clsIndex: batch.clsIndex.dataSync() as Int32Array,
  };
}

export class HostRuntime {
  private readonly buffers = new Map<string, Float32Array>();

  constructor(readonly addon: NativeAddon) {}

  /** A scratch buffer of exactly `size` floats under `name` (grown when needed, never shrunk). */
  buf(name: string, size: number): Float32Array {
    let b = this.buffers.get(name);
    if (!b || b.length < size) {
      b = new Float32Array(Math.max(size, Math.ceil((b?.length ?? 0) * 1.25)));
      this.buffers.set(name, b);
    }
    return b.subarray(0, size);
  }

  /** A parameter's values, read in place (no copy). */
  weight(v: tf.Tensor): Float32Array {
    return hostView(v);
  }

  /**
   * out = act(x W^T + b (+ out when accumulate: out must hold the residual)). W is [outF, inF]; the
   * activation (GELU included) runs in the GEMM's epilogue while each block is in cache.
   */
  linear(x: Float32Array, rows: number, w: Float32Array, b: Float32Array, inF: number, outF: number, out: Float32Array, accumulate = false, activation: NativeActivation = 'linear'): void {
    this.addon.gemm(x, [], w, [], out, false, true, rows, outF, inF, 1, accumulate ? 1 : 0, b, activation, 0, null);
  }

  release(): void {
    this.buffers.clear();
  }
}

/** One runtime (with its scratch buffers) per addon. */
const runtimes = new WeakMap<NativeAddon, HostRuntime>();

/** The runtime of the kernels' addon, when their backend (native) is current. */
export function hostRuntime(kernels: Kernels): HostRuntime | null {
  const addon = kernels.hostAddon;
  if (!addon || tf.getBackend() !== 'native' || kernels.backend !== 'native') return null;
  let rt = runtimes.get(addon);
  if (!rt) {
    rt = new HostRuntime(addon);
    runtimes.set(addon, rt);
  }
  return rt;
}
