/**
 * Naming WebGPU adapters, one rule for every place that asks: Dawn's device in Node (device.ts),
 * the engine window's device on Chromium's navigator.gpu (src/engine-window/webgpu-device.ts) and
 * Electron main's probe status (engine-window-policy.ts). Pure, with no imports: the engine
 * window's browser bundle uses it too.
 */

/** Names of software adapters: Mesa's llvmpipe, lavapipe and softpipe, Chromium's SwiftShader. */
export const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

/** Chromium's adapter info as a name for people: its description, else vendor, architecture and device. */
export function chromiumAdapterName(info: { vendor?: string; architecture?: string; device?: string; description?: string }): string {
  return [info.description, [info.vendor, info.architecture, info.device].filter(Boolean).join(' ')].map((x) => (x ?? '').trim()).find(Boolean) || 'unknown device';
}
