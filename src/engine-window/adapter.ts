/**
 * The engine window's answer to 'adapter' (window-protocol.ts): which WebGPU adapter Chromium gives
 * this renderer (the same high-performance request the engine makes), or why there is none. It
 * opens no device and starts no backend: Electron's main asks it once, in a probe window, for
 * systemInfo and for whether a job with no backend named trains here (engine-window-policy.ts).
 */
import type { AdapterAnswer } from '../main/engine/window-protocol';

export async function queryAdapter(): Promise<AdapterAnswer> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { ok: false, why: 'no-navigator-gpu', reason: 'this window has no navigator.gpu (WebGPU is off or unsupported in it)' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, why: 'failed', reason: `requestAdapter failed: ${(err as Error).message}` };
  }
  if (!adapter) return { ok: false, why: 'no-adapter', reason: 'Chromium gave no WebGPU adapter (the GPU is blocklisted, or no driver offers one)' };
  // adapter.info and isFallbackAdapter (Chromium 114+) are newer than the @webgpu/types here.
  const a = adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean };
  const info = a.info ?? (await adapter.requestAdapterInfo());
  return {
    ok: true,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(a.info?.isFallbackAdapter ?? a.isFallbackAdapter),
  };
}
