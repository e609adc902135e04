/**
 * Native kernels for the optimizer, usable on every host-memory backend (cpu, wasm, native): they
 * work on the Float32Arrays the engine already holds. backends/start.ts puts them in the native
 * backend's Kernels (adamw, sumOfSquares), which the optimizer receives; the AdamW kernel is
 * bit-identical to its JavaScript reference (adamwUpdateJs).
 */
import type { AdamWKernel } from '../kernels';
import { loadNativeAddon } from './addon';

/** The native AdamW update, or null when the addon is unavailable. */
export function nativeAdamWKernel(env: NodeJS.ProcessEnv = process.env): AdamWKernel | null {
  const load = loadNativeAddon(env);
  if (!load.ok) return null;
  const addon = load.addon;
  return (p, g, m, v, a) => {
    // The scalars exactly as adamwUpdateJs computes them, so every element matches it bit for bit.
    const decay = 1 - a.lr * a.weightDecay;
    const bc1 = 1 - a.beta1 ** a.step;
    const bc2sqrt = Math.sqrt(1 - a.beta2 ** a.step);
    addon.adamw(p, g, m, v, decay, a.beta1, a.beta2, a.lr / bc1, bc2sqrt, a.eps, a.gradScale);
  };
}

/**
 * Sum of squares in double (the gradient norm for clipping), multithreaded and the same for any
 * thread count; null when the addon is unavailable.
 */
export function nativeSumOfSquares(env: NodeJS.ProcessEnv = process.env): ((values: Float32Array) => number) | null {
  const load = loadNativeAddon(env);
  if (!load.ok) return null;
  const addon = load.addon;
  return (values) => addon.sumSquares(values);
}
