/**
 * The engine window's WebGPU device: Chromium's navigator.gpu, in place of Dawn's Node binding
 * (src/main/engine/webgpu/device.ts). The build swaps it in for webgpu/backend.ts's `./device`
 * import (electron.vite.config.ts, browserWebGpuDevice), so the page runs the same tfjs webgpu
 * backend with its pool trim and AddN chunking. It exports what backend.ts uses, with the same
 * types (checked below): openWebGpu, DeviceErrors, WebGpuAdapterReport.
 *
 * Rules as in device.ts: a real adapter (high-performance preference); a software one
 * (SwiftShader, lavapipe, llvmpipe: isFallbackAdapter or its name) only when allowed (WebGPU asked
 * for by name, or a test); validation errors arrive as events and are thrown after the step.
 */
import type * as NodeDevice from '../main/engine/webgpu/device';
import { chromiumAdapterName, SOFTWARE_ADAPTER } from '../main/engine/webgpu/adapter-name';

export type WebGpuAdapterReport = NodeDevice.WebGpuAdapterReport;
export type GPUDeviceLike = NodeDevice.GPUDeviceLike;

/** A name for people from the adapter info Chromium gives ("google swiftshader via WebGPU"). */
export function describeAdapter(info: GPUAdapterInfo, fallback: boolean): WebGpuAdapterReport {
  const vendor = (info.vendor || '').trim();
  const device = chromiumAdapterName(info);
  const software = fallback || SOFTWARE_ADAPTER.test(`${device} ${info.architecture} ${info.description}`);
  return { label: `${device} via WebGPU (Chromium)`, vendor, device, api: 'chromium', software };
}

export const openWebGpu: typeof NodeDevice.openWebGpu = async (options) => {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { ok: false, reason: 'this window has no navigator.gpu (WebGPU is disabled or unsupported here)', tried: [] };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, reason: `requestAdapter failed: ${(err as Error).message}`, tried: [] };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter (the GPU is blocklisted or WebGPU is off)', tried: ['chromium: no adapter'] };
  // adapter.info (Chromium 114+) is newer than the @webgpu/types here, which has only requestAdapterInfo().
  const withInfo = adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean };
  const info = withInfo.info ?? (await adapter.requestAdapterInfo());
  const report = describeAdapter(info, Boolean(withInfo.info?.isFallbackAdapter ?? withInfo.isFallbackAdapter));
  if (report.software && !options.allowSoftware) {
    return { ok: false, reason: `only a software adapter (${report.label}); FINETUNE_BACKEND=webgpu uses it`, tried: [`chromium: ${report.label}`] };
  }
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  return { ok: true, report, device: device as unknown as GPUDeviceLike, adapterInfo: info };
};

/** Validation errors reported by the device since the last check (WebGPU does not throw them). */
export class DeviceErrors implements Pick<NodeDevice.DeviceErrors, 'throwIfAny'> {
  private messages: string[] = [];
  constructor(device: GPUDeviceLike) {
    device.addEventListener('uncapturederror', (e) => {
      if (this.messages.length < 20) this.messages.push(e.error.message);
    });
  }
  throwIfAny(): void {
    if (this.messages.length === 0) return;
    const first = this.messages[0]!;
    const more = this.messages.length - 1;
    this.messages = [];
    throw new Error(`the GPU reported an error (WebGPU): ${first}${more ? ` (and ${more} more)` : ''}`);
  }
}
