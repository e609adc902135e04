/**
 * Backend start-up: picks the tfjs backend (what the user asked for, else the best that loads
 * here, in BACKENDS' order), makes it current, and returns the Kernels it supplies beyond tfjs'
 * own ops (the native backend's fused ops, host forward, AdamW and gradient norm). The caller
 * passes those kernels on to the step, the optimizer and inference; nothing is swapped behind
 * their back.
 *
 * Adding a backend (webgpu, say) is one descriptor in BACKENDS: its name (add it to
 * shared/types.ts BACKEND_NAMES and engine/backend.ts's labels), a probe that says cheaply why it
 * cannot run here, and a start that loads it, makes it current and returns its kernels
 * (noKernels(name) when tfjs' own ops are all it has). Its place in the list is its preference.
 */
import type { BackendInfo, BackendName } from '../../../shared/types';
import { environment } from '../../environment';
import { backendInfo, forcedBackend, tfjsNodeInstalled } from '../backend';
import { noKernels, type Kernels } from '../kernels';
import { tf } from '../tf';
import { initWasm } from './wasm';
import { packageInstalled } from '../backend';

export interface BackendDescriptor {
  name: BackendName;
  /** Why the backend cannot run here, found without loading it; null when it may. */
  probe(): string | null;
  /** Loads the backend and makes it current: its kernels, or the reason it cannot run. `requested`: the user asked for this one by name. */
  start(requested: boolean): Promise<Kernels | string>;
}

export interface StartedBackend {
  info: BackendInfo;
  kernels: Kernels;
}

async function trySet(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

function firstLine(err: unknown): string {
  return (err as Error).message.split('\n')[0]!;
}

function tensorflowBackend(name: 'tensorflow-gpu' | 'tensorflow'): BackendDescriptor {
  const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  return {
    name,
    probe: () => (tfjsNodeInstalled(pkg) ? null : `${pkg} is not installed`),
    async start() {
      try {
        await import(pkg);
      } catch (err) {
        return `${pkg} failed to load (${firstLine(err)})`;
      }
      return (await trySet('tensorflow')) ? noKernels('tensorflow') : `${pkg} loaded but its backend did not start`;
    },
  };
}

/**
 * Any GPU through WebGPU (Dawn: Vulkan, Metal, D3D12). A real adapter only, unless the user forced
 * FINETUNE_BACKEND=webgpu (then a software adapter too: CI's llvmpipe). Training reads results
 * asynchronously on it (Stepper.stepAsync); after each step the device's errors are thrown and the
 * buffer pool is trimmed when it holds far more than the live tensors.
 */
const webgpuBackend: BackendDescriptor = {
  name: 'webgpu',
  probe: () => (packageInstalled('webgpu') ? null : 'the webgpu package (Dawn for Node) is not installed'),
  async start(requested) {
    try {
      const { startWebGpuBackend } = await import('../webgpu/backend');
      // A software adapter (CI's llvmpipe) only when WebGPU was asked for by name.
      const r = await startWebGpuBackend({ allowSoftware: requested });
      if (!r.ok) return r.reason;
      const { handle } = r;
      const TRIM_SLACK = 256 * 1024 * 1024;
      // The fused WGSL kernels (FINETUNE_WEBGPU_FUSED: on by default; off, ops or optimizer only).
      const { webgpuFusedKernels } = await import('../webgpu/fused');
      return {
        ...noKernels('webgpu'),
        ...webgpuFusedKernels(tf.backend(), handle.maxStorageBuffers, environment().webgpuFused),
        device: handle.report.label,
        afterStep() {
          handle.errors.throwIfAny();
          const pool = handle.poolBytes();
          if (pool.allocated > 2 * pool.used + TRIM_SLACK) handle.trimPool();
        },
      };
    } catch (err) {
      return `WebGPU unavailable (${firstLine(err)})`;
    }
  },
};

const nativeBackend: BackendDescriptor = {
  name: 'native',
  probe: () => null,
  async start() {
    try {
      const native = await import('../native/index');
      const r = native.registerNativeBackend();
      if (!r.ok) return r.reason;
      if (!(await trySet('native'))) return 'native backend did not start';
      // Fused GELU, layer norm, softmax and dropout; the AdamW update and the gradient norm in C;
      // the eval forward on host arrays unless FINETUNE_HOST_FORWARD=off.
      const addon = native.loadNativeAddon();
      return {
        backend: 'native',
        ops: native.nativeOps(),
        hostAddon: addon.ok && !environment().hostForwardDisabled ? addon.addon : null,
        adamw: native.nativeAdamWKernel(),
        sumOfSquares: native.nativeSumOfSquares(),
      };
    } catch (err) {
      return `native kernels unavailable (${firstLine(err)})`;
    }
  },
};

const wasmBackend: BackendDescriptor = {
  name: 'wasm',
  probe: () => null,
  async start() {
    try {
      await initWasm();
    } catch (err) {
      return `wasm backend failed to load (${(err as Error).message})`;
    }
    return (await trySet('wasm')) ? noKernels('wasm') : 'wasm backend did not start';
  },
};

const cpuBackend: BackendDescriptor = {
  name: 'cpu',
  probe: () => null,
  start: async () => ((await trySet('cpu')) ? noKernels('cpu') : 'cpu backend did not start'),
};

/** Every backend the engine can start, best first. */
export const BACKENDS: readonly BackendDescriptor[] = [tensorflowBackend('tensorflow-gpu'), webgpuBackend, tensorflowBackend('tensorflow'), nativeBackend, wasmBackend, cpuBackend];

let started: StartedBackend | null = null;

/** Loads one backend and makes it current: its kernels, or the reason it cannot run. */
async function startOne(descriptor: BackendDescriptor, requested: boolean): Promise<Kernels | string> {
  return descriptor.probe() ?? (await descriptor.start(requested));
}

export interface StartBackendOptions {
  /**
   * Backends the automatic choice passes over, with why (reported among the ones it tried): Dawn's
   * WebGPU in Electron's utility process (engine/window-route.ts localBackendPlan). A backend
   * asked for by name is never skipped; the caller refuses such a request itself.
   */
  skip?: readonly BackendName[];
  skipReason?: string;
}

/** Starts what the caller (or FINETUNE_BACKEND) asks for, or the best that loads here. */
export async function startBackend(preferred?: BackendName | null, options: StartBackendOptions = {}): Promise<StartedBackend> {
  const wanted = preferred ?? forcedBackend();
  const tried: string[] = [];
  const order = wanted ? BACKENDS.filter((b) => b.name === wanted) : BACKENDS;
  for (const descriptor of order) {
    if (!wanted && options.skip?.includes(descriptor.name)) {
      tried.push(`${descriptor.name}: ${options.skipReason ?? 'skipped'}`);
      continue;
    }
    const result = await startOne(descriptor, Boolean(wanted));
    if (typeof result !== 'string') {
      const why = wanted ? `chosen by request` : tried.length ? `best available (${tried.join('; ')})` : 'best available';
      const info = backendInfo(descriptor.name, result.device ? `${result.device}; ${why}` : why);
      if (result.device) info.label = `${info.label}: ${result.device}`;
      started = { info, kernels: result };
      return started;
    }
    tried.push(`${descriptor.name}: ${result}`);
  }
  if (wanted) throw new Error(`The ${wanted} backend cannot run here: ${tried.join('; ') || 'no such backend'}`);
  throw new Error(`No TensorFlow.js backend could start: ${tried.join('; ')}`);
}

/** startBackend for callers that only report which backend runs (they use activeKernels()). */
export async function initBackend(preferred?: BackendName | null): Promise<BackendInfo> {
  return (await startBackend(preferred)).info;
}

/**
 * The kernels of the backend startBackend made current, for callers that did not start it
 * themselves (a test's setup, the CLI's predict); none when another backend is current now.
 */
export function activeKernels(): Kernels {
  const current = tf.getBackend();
  return started && started.kernels.backend === current ? started.kernels : noKernels(current);
}
