/**
 * The WebGPU device for the engine in Node: Dawn's Node binding (the `webgpu` npm package, which
 * ships dawn.node for Linux, macOS and Windows), an adapter chosen by our rules, and the tfjs
 * webgpu backend registered on that device.
 *
 * Why not let @tensorflow/tfjs-backend-webgpu register itself: it does so at import only when
 * `navigator.gpu` exists (Node has no navigator), it takes whatever adapter comes first, and it
 * cannot tell a real GPU from a software one. Here:
 * - a real (hardware) adapter is used when one exists: Vulkan on Linux, Metal on macOS, D3D12 on
 *   Windows, high-performance preference;
 * - a software adapter (llvmpipe/lavapipe/SwiftShader: `isFallbackAdapter`, or a CPU device
 *   type) only when the user forced FINETUNE_BACKEND=webgpu (CI has no GPU). When Vulkan offers
 *   none, Dawn's OpenGL ES backend over Mesa's surfaceless EGL is tried, in compatibility mode;
 * - WebGPU validation errors are not exceptions: they arrive as `uncapturederror` events. They are
 *   kept and thrown by `throwIfDeviceError()`, which the step calls, so a run fails with the
 *   message instead of training on zeros.
 *
 * The globals WebGPU code expects (GPUBufferUsage, GPUMapMode, GPUShaderStage...) are copied onto
 * globalThis once, the way the package's README says; nothing else global is changed.
 */
import { createRequire } from 'node:module';
import { SOFTWARE_ADAPTER } from './adapter-name';

const requireHere = createRequire(import.meta.url);

/** What the adapter query found, for systemInfo, the Model step and the run record. */
export interface WebGpuAdapterReport {
  /** "NVIDIA H200 via Vulkan", "llvmpipe (LLVM 15.0.6, 256 bits) via OpenGL ES". */
  label: string;
  vendor: string;
  device: string;
  /** Dawn's backend: vulkan, metal, d3d12, opengles... */
  api: string;
  /** A software rasteriser, not a GPU. */
  software: boolean;
}

export type WebGpuOpen =
  | { ok: true; report: WebGpuAdapterReport; device: GPUDeviceLike; adapterInfo: unknown }
  | { ok: false; reason: string; tried: string[] };

/** The part of GPUDevice the engine touches (dawn.node's types are not on the TS lib here). */
export interface GPUDeviceLike {
  addEventListener(type: 'uncapturederror', listener: (e: { error: { message: string } }) => void): void;
  destroy(): void;
  limits: Record<string, number>;
  features: { has(name: string): boolean };
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean; type?: string; backendType?: string };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<GPUDeviceLike>;
}

interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}

interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

let dawn: DawnModule | null | undefined;
let dawnError = '';

/** dawn.node, or null with the reason (the optional package missing, or no build for this platform). */
/** For tests: the label Dawn's adapter info gives. */
export function describeAdapterInfo(info: NonNullable<AdapterLike['info']>, api: string): WebGpuAdapterReport {
  return describe({ info, features: { has: () => false }, limits: {}, requestDevice: () => Promise.reject(new Error('not a real adapter')) }, api);
}

export function loadDawn(): DawnModule | null {
  if (dawn !== undefined) return dawn;
  try {
    // `webgpu` is an ES module whose index picks dist/<platform>-<arch>/dawn.node.
    const pkgDir = requireHere.resolve('webgpu/package.json').replace(/package\.json$/, '');
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    dawn = requireHere(`${pkgDir}dist/${process.platform}-${arch}/dawn.node`) as DawnModule;
    for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  } catch (err) {
    dawn = null;
    dawnError = `the webgpu package (Dawn for Node) could not be loaded: ${(err as Error).message.split('\n')[0]}`;
  }
  return dawn;
}

const VENDORS: Record<string, string> = { nvidia: 'NVIDIA', amd: 'AMD', intel: 'Intel', apple: 'Apple', qualcomm: 'Qualcomm', arm: 'Arm' };

/**
 * A name for people. Dawn reports e.g. device "nvidia-h200" with description "NVIDIA: 580.159.04"
 * (the driver) on Vulkan, and description "OpenGL ES 3.2 Mesa 22.3.6" with device
 * "llvmpipe-..." on Mesa: a known vendor's device slug is spelled out, else the description.
 */
function deviceName(info: NonNullable<AdapterLike['info']>): string {
  const vendor = VENDORS[(info.vendor ?? '').toLowerCase()];
  const slug = (info.device ?? '').trim();
  if (vendor && slug) {
    const rest = slug.replace(new RegExp(`^${info.vendor}[-_ ]*`, 'i'), '').split(/[-_ ]+/).filter(Boolean).map((w) => w.toUpperCase());
    return [vendor, ...rest].join(' ');
  }
  return (info.description || slug || info.architecture || 'unknown device').trim();
}

function describe(adapter: AdapterLike, api: string): WebGpuAdapterReport {
  const info = adapter.info ?? {};
  const device = deviceName(info);
  const vendor = VENDORS[(info.vendor ?? '').toLowerCase()] ?? (info.vendor || '').trim();
  const software = Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter || info.type === 'cpu' || SOFTWARE_ADAPTER.test(`${device} ${info.device ?? ''} ${info.description ?? ''}`));
  const apiName = { vulkan: 'Vulkan', metal: 'Metal', d3d12: 'Direct3D 12', opengles: 'OpenGL ES', opengl: 'OpenGL', d3d11: 'Direct3D 11' }[api] ?? api;
  return { label: `${device} via ${apiName}`, vendor, device, api, software };
}

function defaultApi(): string {
  return process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
}

/**
 * Opens a device: the platform's native API first; then, only when software adapters are allowed,
 * Dawn's OpenGL ES backend (Mesa llvmpipe through surfaceless EGL) in compatibility mode.
 */
export async function openWebGpu(options: { allowSoftware: boolean }): Promise<WebGpuOpen> {
  const mod = loadDawn();
  if (!mod) return { ok: false, reason: dawnError, tried: [] };
  const tried: string[] = [];
  const attempts: { api: string; dawnOptions: string[]; request: Record<string, unknown> }[] = [
    { api: defaultApi(), dawnOptions: [], request: { powerPreference: 'high-performance' } },
  ];
  if (options.allowSoftware && process.platform === 'linux') {
    attempts.push({ api: 'opengles', dawnOptions: ['backend=opengles'], request: { featureLevel: 'compatibility' } });
  }
  for (const attempt of attempts) {
    if (attempt.api === 'opengles') process.env.EGL_PLATFORM ??= 'surfaceless';
    let adapter: AdapterLike | null = null;
    let gpu: GpuLike;
    try {
      gpu = mod.create(attempt.dawnOptions);
      adapter = await gpu.requestAdapter(attempt.request);
    } catch (err) {
      tried.push(`${attempt.api}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${attempt.api}: no adapter`);
      continue;
    }
    const report = describe(adapter, attempt.api);
    if (report.software && !options.allowSoftware) {
      tried.push(`${attempt.api}: only a software adapter (${report.label}); FINETUNE_BACKEND=webgpu uses it`);
      continue;
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
    exposeNavigatorGpu(gpu);
    return { ok: true, report, device, adapterInfo: adapter.info };
  }
  return { ok: false, reason: `no usable WebGPU adapter (${tried.join('; ')})`, tried };
}

/**
 * tfjs's WebGPUBackend checks `navigator.gpu` in its constructor. Node 20 has no navigator; Node 21+
 * has one without `gpu`. Either way only the `gpu` member is added.
 */
function exposeNavigatorGpu(gpu: GpuLike): void {
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator && 'gpu' in g.navigator) return;
  const nav = g.navigator ?? {};
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, enumerable: true });
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
}

/** Validation errors reported by the device since the last check (WebGPU does not throw them). */
export class DeviceErrors {
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
