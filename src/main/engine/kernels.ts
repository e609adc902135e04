/**
 * The kernels a started backend supplies beyond tfjs' own ops (backends/start.ts returns them).
 * The step, the optimizer, the forward context and inference receive this object explicitly, so
 * a reader sees where a fused kernel can replace a tfjs op chain; nothing swaps them behind the
 * engine's back. A field is null where the backend has no such kernel (the JavaScript path runs).
 */
import type { NativeAddon, NativeOps } from './native/index';
import type { WebGpuOptimizerKernels } from './webgpu/optimizer';

/** AdamW update of one parameter in place (p, m, v), with the gradient scaled by gradScale. */
export type AdamWKernel = (
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; gradScale: number },
) => void;

export interface Kernels {
  /** The tfjs backend these kernels belong to; the fused ops and the host forward run only while it is current. */
  backend: string;
  /** Fused GELU, layer norm, softmax and dropout (forward and backward): native's C kernels or webgpu's WGSL. */
  ops: NativeOps | null;
  /** The addon for the eval forward on host arrays (models/host.ts); null when FINETUNE_HOST_FORWARD=off. */
  hostAddon: NativeAddon | null;
  /** The AdamW update (bit-identical to adamwUpdateJs). */
  adamw: AdamWKernel | null;
  /** Sum of squares in double (the gradient norm). */
  sumOfSquares: ((values: Float32Array) => number) | null;
  /**
   * GPU backends (webgpu): AdamW over the parameter tensors, one dispatch per parameter instead of
   * the 17-op chain, equal to it. Absent elsewhere (the chain or the host update runs).
   */
  adamwTensors?: WebGpuOptimizerKernels['adamwTensors'];
  /** GPU backends (webgpu): the gradients' sum of squares in a few dispatches, as a scalar tensor. */
  sumOfSquaresTensors?: WebGpuOptimizerKernels['sumOfSquaresTensors'];
  /**
   * After every optimizer step: the GPU backend's check for device errors (WebGPU reports them as
   * events, not exceptions) and its buffer-pool trim. Absent on the CPU backends.
   */
  afterStep?: () => void;
  /** The device the backend runs on, when it is worth naming ("NVIDIA H200 via Vulkan"). */
  device?: string;
}

/**
 * Backends whose tensors live off the host (webgpu) cannot read them synchronously (dataSync needs
 * a canvas there). Reading them once asynchronously caches the values on the CPU side, after
 * which the engine's synchronous readers (saving a model, checkpoints) work unchanged.
 */
export async function readBack(tensors: Iterable<{ data(): Promise<unknown> }>, backend: string): Promise<void> {
  if (backend !== 'webgpu') return;
  await Promise.all([...tensors].map((t) => t.data()));
}

/** A backend with no kernels of its own: every op is tfjs', the optimizer is JavaScript. */
export function noKernels(backend: string): Kernels {
  return { backend, ops: null, hostAddon: null, adamw: null, sumOfSquares: null };
}
