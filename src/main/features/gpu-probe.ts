/**
 * systemInfo's WebGPU answer. Whether a real GPU is there is only known by asking the driver,
 * once per app, in the background (the first systemInfo answers 'probing'; the renderer asks
 * again). The web host and Node load Dawn in an engine worker; the desktop app passes its own
 * query (Electron's main asks a hidden engine window for Chromium's adapter, since Dawn cannot run
 * in the utility process: engine-window-policy.ts adapterStatus), with the same statuses. A real adapter makes 'webgpu' the
 * backend systemInfo names, as the trainer will choose it (after tfjs-node-gpu only).
 */
import type { BackendInfo, WebGpuStatus } from '../../shared/types';
import { backendInfo, forcedBackend, packageInstalled } from '../engine/backend';
import { runWorkerJob, type WorkerContext } from '../training/jobs';

export class WebGpuProbe {
  private status: WebGpuStatus | null = null;

  constructor(
    private readonly workers: WorkerContext,
    private readonly ask: boolean,
    /** The host's own query (Electron's engine window), or null: Dawn in an engine worker. */
    private readonly hostQuery: (() => Promise<WebGpuStatus>) | null = null,
  ) {}

  /** The answer so far; starts the query on the first call. */
  current(): WebGpuStatus {
    if (this.status) return this.status;
    const forced = forcedBackend({ ...process.env, ...this.workers.env });
    if (forced) return (this.status = { state: 'not-asked', reason: `FINETUNE_BACKEND=${forced} chooses the backend` });
    if (!this.ask) return (this.status = { state: 'not-asked', reason: 'the command line asks when training starts' });
    if (!this.hostQuery && !packageInstalled('webgpu')) return (this.status = { state: 'no-package', reason: 'the webgpu package (Dawn for Node) is not installed' });
    this.status = { state: 'probing' };
    const query = this.hostQuery
      ? this.hostQuery()
      : runWorkerJob(this.workers, { kind: 'probe-webgpu' }, (m) => (m.type === 'webgpu-probe' ? m.status : undefined), { what: 'The WebGPU adapter query' });
    query.then(
      (s) => {
        this.status = s;
      },
      (err: unknown) => {
        this.status = { state: 'probe-failed', reason: err instanceof Error ? err.message : String(err) };
      },
    );
    return this.status;
  }
}

/** The backend systemInfo names: a found GPU wins over every CPU backend (not over tfjs-node-gpu or a forced one). */
export function backendWithWebGpu(backend: BackendInfo, webgpu: WebGpuStatus): BackendInfo {
  if (webgpu.state !== 'found' || backend.name === 'tensorflow-gpu' || backend.name === 'webgpu') return backend;
  if (/^forced by /.test(backend.detail)) return backend;
  const info = backendInfo('webgpu', `a GPU was found through WebGPU: ${webgpu.label} (without it: ${backend.label})`);
  return { ...info, label: `${info.label}: ${webgpu.label}` };
}

/** The detail line's words for a WebGPU answer that is not a GPU. */
export function webGpuNote(webgpu: WebGpuStatus): string | null {
  switch (webgpu.state) {
    case 'probing':
      return 'looking for a GPU through WebGPU';
    case 'software-only':
      return `WebGPU found only a software adapter (${webgpu.label}), which is slower than the CPU backends`;
    case 'no-adapter':
      return `no GPU found through WebGPU: ${webgpu.reason}`;
    case 'probe-failed':
      return `the WebGPU query failed (${webgpu.reason})`;
    default:
      return null;
  }
}
