/**
 * Native CPU kernels for the engine. Typical use in the trainer process:
 *
 *   const native = registerNativeBackend();
 *   if (native.ok) await tf.setBackend('native');
 *   else log(`${native.reason}; training uses the WebAssembly backend`);
 *
 * Environment: FINETUNE_NATIVE=off disables the addon; FINETUNE_NATIVE_GEMM=auto|blas|own|own-avx512|
 * own-avx2|own-neon|own-scalar forces a GEMM path; FINETUNE_THREADS sets the thread count;
 * FINETUNE_NATIVE_ADDON points at a specific finetune_native.node.
 */
export { registerNativeBackend, copyCpuKernels, nativeOps, NATIVE_BACKEND } from './backend';
export type { NativeOps, GeluForm } from './ops';
export { FUSED_KERNELS } from './ops';
export type { NativeRegistration, NativeBackendOptions } from './backend';
export { nativeInfo, gemmLabel } from './info';
export type { NativeInfo } from './info';
export { loadNativeAddon, addonCandidates, GEMM_MODES, NATIVE_ADDON_VERSION } from './addon';
export type { GemmName, GemmMode, NativeAddon, NativeAddonInfo, NativeActivation, AddonLoad } from './addon';
export { nativeAdamWKernel, nativeSumOfSquares } from './optimizer';
