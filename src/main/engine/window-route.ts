/**
 * When the engine worker trains in the engine window (window-protocol.ts) rather than on a backend
 * of its own process, and what the run then records.
 *
 * The rule: a training job trains in the window when Electron's main handed this process a port
 * to one ({type:'engine-port'}) and the job wants WebGPU: asked for by name (the job's backend or
 * FINETUNE_BACKEND=webgpu, a software adapter then accepted) or not asked for at all (the best
 * available: main opens the window in that case only when its WebGPU probe found a real adapter).
 * Dawn is not tried in this process first: in Electron's utility process it cannot read results
 * back (Electron forbids external ArrayBuffers, dawn-gpu/node-webgpu issue 5), and a failure
 * inside a native binding can take the process down instead of throwing; the port's presence is
 * the cleaner signal, since only Electron's main sends it, and only when WebGPU is wanted. No
 * separate FINETUNE_BACKEND value is needed. The CLI and web host never have a port: unchanged.
 */
import { LINUX_WEBGPU_HINT } from '../../shared/engine-window';
import type { BackendInfo, BackendName } from '../../shared/types';
import { BACKEND_LABELS, backendInfo } from './backend';
import type { EngineJob } from './protocol';
import { EngineWindowClient, type ClientPort } from './window-client';
import type { InitResult } from './window-protocol';

export interface WindowRoute {
  /** Accept a software WebGPU adapter in the window (WebGPU asked for by name). */
  allowSoftware: boolean;
}

/** The jobs that run their model in the engine window when they get a port: training, and the predictions (one job, a file, the try-it box). */
export const WINDOW_JOB_KINDS: readonly EngineJob['kind'][] = ['train', 'predict', 'predict-file', 'serve'];

/** The route for a job: the engine window (how), or null to run on this process's backend. */
export function engineWindowRoute(job: EngineJob, forced: BackendName | null, hasPort: boolean): WindowRoute | null {
  if (!WINDOW_JOB_KINDS.includes(job.kind) || !hasPort) return null;
  const wanted = job.backend ?? forced;
  if (wanted === 'webgpu') return { allowSoftware: true };
  if (wanted === null || wanted === undefined) return { allowSoftware: false };
  return null;
}

/** How a job that does not run in the engine window starts this process's backend (backends/start.ts startBackend). */
export interface LocalBackendPlan {
  /** The backend named by the job (FINETUNE_BACKEND is read by startBackend itself); null: the best available. */
  preferred: BackendName | null;
  /** Backends the automatic choice must not try in this process. */
  skip: BackendName[];
}

/** Why in-process Dawn is not tried in Electron's utility process (startBackend's report of the automatic choice). */
export const DAWN_NOT_IN_ELECTRON = "not tried in the desktop app's engine process (Dawn cannot read results back in Electron's utility process; WebGPU runs in the GPU engine window)";

/**
 * The local backend for a job that does not run in the engine window. In the CLI and web host
 * (a forked Node process) nothing changes: the job's backend, else the best available, Dawn's
 * WebGPU included. In Electron's utility process (`electronUtility`) Dawn is never tried: it
 * cannot read results back there and a native failure can take the process down instead of
 * throwing (see the top of this file), so the automatic choice skips it (native, wasm or cpu
 * then) and a job that asks for WebGPU by name (its backend or FINETUNE_BACKEND) but got no port
 * fails at once, saying what to do. UNVERIFIED in real Electron (it cannot launch here).
 */
export function localBackendPlan(job: EngineJob, forced: BackendName | null, electronUtility: boolean): LocalBackendPlan {
  const preferred = job.backend ?? null;
  if (!electronUtility) return { preferred, skip: [] };
  if ((preferred ?? forced) === 'webgpu') {
    const how = WINDOW_JOB_KINDS.includes(job.kind)
      ? 'the engine window did not open for this job (see the app\'s log for why)'
      : `a ${job.kind} job does not use the engine window`;
    const named = preferred ? 'This job asks for the webgpu backend' : 'FINETUNE_BACKEND=webgpu asks for the webgpu backend';
    throw new Error(
      `${named}, and in the desktop app WebGPU runs only in the GPU engine window, which this job does not have: ${how}. ` +
        `Dawn is not tried in the engine process itself (Electron's utility process cannot read its results back). ` +
        `Restart the app and try again${process.platform === 'linux' ? ` (${LINUX_WEBGPU_HINT})` : ''}, or choose another backend (CPU), or use the finetune CLI, which runs WebGPU through Dawn.`,
    );
  }
  return { preferred, skip: ['webgpu'] };
}

/** What the run records once the window holds the model: its backend and adapter, and where it runs. */
export function windowBackendInfo(init: InitResult): BackendInfo {
  const name: BackendName = init.backend in BACKEND_LABELS ? (init.backend as BackendName) : 'webgpu';
  const info = backendInfo(name, `${init.device}; in the engine window (a Chromium renderer), files in the engine worker`);
  info.label = `${info.label}: ${init.device}`;
  return info;
}

const NO_WEBGPU = /no navigator\.gpu|no WebGPU adapter|Chromium gave no WebGPU adapter/;

/**
 * The run's failure when the engine window cannot train because it has no WebGPU (a resumed run
 * recorded on webgpu in an app started without the Linux opt-in, or a GPU Chromium blocklists),
 * or a prediction job's (job 'predict': WebGPU named for it): what to do instead of the window's
 * bare reason; any other failure is returned as it is.
 */
export function windowWithoutWebGpu(err: unknown, platform: string, job: 'train' | 'predict' = 'train'): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!NO_WEBGPU.test(message)) return err;
  const again = job === 'train' ? 'resume the run' : 'try again';
  const todo =
    platform === 'linux'
      ? `WebGPU is off in this app: ${LINUX_WEBGPU_HINT}; then ${again}.`
      : `Chromium offers no WebGPU adapter here (an old or blocklisted graphics driver): update the driver, restart the app and ${again}.`;
  if (job === 'predict') return new Error(`These predictions ask for WebGPU, and the engine window has none (${message}). ${todo} Or predict on the CPU: choose another backend, or unset FINETUNE_BACKEND=webgpu.`);
  return new Error(`This run trains on WebGPU, and the engine window has none (${message}). ${todo} A run recorded on WebGPU resumes only on WebGPU: to train on the CPU, start a new run.`);
}

/** Electron's MessagePortMain, as far as the worker uses it. */
export interface MessagePortMainLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  on(event: 'close', listener: () => void): void;
  off(event: 'message', listener: (e: { data: unknown }) => void): void;
  start(): void;
}

/** Electron's MessagePortMain as the client's port (it copies ArrayBuffers: no transfer list). Also main's probe (engine-window.ts). */
export function clientPortOf(port: MessagePortMainLike): ClientPort {
  return {
    postMessage: (message) => port.postMessage(message),
    onMessage(listener) {
      const handler = (e: { data: unknown }): void => listener(e.data);
      port.on('message', handler);
      return () => port.off('message', handler);
    },
  };
}

/**
 * The worker's link to main's engine window: main's notices (engine-window-policy.ts
 * EngineWindowNotice) arrive on the parent port; the port comes with 'engine-port'; when
 * 'engine-window-gone' comes, or the port closes, the client is closed with the reason, so its
 * waiting call (a step, say) fails saying why and the run fails with that message.
 */
export class EngineWindowLink {
  private port: MessagePortMainLike | null = null;
  private opened: EngineWindowClient | null = null;
  /** Why the window is gone (main's message), or null while it lives. */
  gone: string | null = null;
  /** Why the window went away (main's notice or its port closing), for whenGone(). */
  private lostReason: string | null = null;
  private goneListeners: ((reason: string) => void)[] = [];

  constructor(
    /** A call the window does not answer within this many milliseconds fails (a hung GPU): 30 minutes. */
    private readonly timeoutMs = 30 * 60_000,
  ) {}

  /** Takes a message from the parent port: true when it was a notice about the engine window. */
  notice(data: unknown, ports: readonly MessagePortMainLike[] | undefined): boolean {
    const d = data as { type?: unknown; reason?: unknown } | null;
    if (!d || typeof d !== 'object') return false;
    if (d.type === 'engine-port') {
      if (ports?.[0]) this.port = ports[0];
      return true;
    }
    if (d.type === 'engine-window-gone') {
      this.gone = typeof d.reason === 'string' ? d.reason : 'The GPU engine window is gone.';
      this.opened?.close(this.gone);
      this.lost(this.gone);
      return true;
    }
    return false;
  }

  /**
   * Resolves with the reason once the window is gone (main's notice, or its port closed): a job
   * that waits for requests rather than on a call (the try-it box) ends then, so the next request
   * starts a new worker with a new window.
   */
  whenGone(): Promise<string> {
    if (this.lostReason) return Promise.resolve(this.lostReason);
    return new Promise((resolve) => this.goneListeners.push(resolve));
  }

  private lost(reason: string): void {
    this.lostReason ??= reason;
    for (const l of this.goneListeners.splice(0)) l(reason);
  }

  get hasPort(): boolean {
    return this.port !== null;
  }

  /** The client on the window's port (one per worker: a worker runs one job). */
  client(): EngineWindowClient {
    if (this.opened) return this.opened;
    const port = this.port;
    if (!port) throw new Error('the engine window has not sent its port: restart the run');
    const client = new EngineWindowClient(clientPortOf(port), { timeoutMs: this.timeoutMs });
    if (this.gone) client.close(this.gone);
    port.on('close', () => {
      const reason = this.gone ?? 'the engine window closed its port';
      client.close(reason);
      this.lost(reason);
    });
    port.start();
    return (this.opened = client);
  }
}
