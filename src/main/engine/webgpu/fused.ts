/**
 * The webgpu backend's fused WGSL kernels as Kernels fields (backends/start.ts spreads them in):
 * the optimizer's AdamW and gradient norm (optimizer.ts here) and the transformer ops (ops.ts
 * here), chosen by FINETUNE_WEBGPU_FUSED (on, off, ops, optimizer).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { WebGpuFused } from '../../environment';
import type { Kernels } from '../kernels';
import { webgpuOptimizerKernels } from './optimizer';
import { webgpuOps } from './ops';

export function webgpuFusedKernels(backend: tf.KernelBackend, maxStorageBuffers: number, which: WebGpuFused): Partial<Kernels> {
  const out: Partial<Kernels> = {};
  if (which === 'on' || which === 'optimizer') {
    const k = webgpuOptimizerKernels(backend, maxStorageBuffers);
    out.adamwTensors = k.adamwTensors;
    out.sumOfSquaresTensors = k.sumOfSquaresTensors;
  }
  if (which === 'on' || which === 'ops') out.ops = webgpuOps(backend);
  return out;
}
