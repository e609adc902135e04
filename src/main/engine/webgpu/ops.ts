/** Fused transformer ops on webgpu (not yet: the tfjs op chains run). */
import type * as tf from '@tensorflow/tfjs-core';
import type { NativeOps } from '../native/index';

export function webgpuOps(_backend: tf.KernelBackend): NativeOps | null {
  return null;
}
