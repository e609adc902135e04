/**
 * One-off engine jobs in a worker process (token counts, throughput, predictions) and a
 * long-lived worker that keeps a model loaded for the try-it box. Nothing here runs the engine
 * in the app's own process.
 */
import { AppError, APP_ERROR_CODES, appErrorFromErrno, type AppErrorCode } from '../../shared/errors';
import type { Prediction } from '../engine/inference';
import type { EngineJob, WorkerMessage } from '../engine/protocol';
import type { WorkerHandle, WorkerLauncher } from './launcher';

export interface WorkerContext {
  launcher: WorkerLauncher;
  workerEntry: string;
  env?: NodeJS.ProcessEnv;
}

/** A job's failure as the AppError the worker threw (by code), a resource error, or 'internal'. */
function workerFailure(what: string, m: { error: string; errno?: string; code?: string }): AppError {
  if (m.code && (APP_ERROR_CODES as readonly string[]).includes(m.code)) return new AppError(m.code as AppErrorCode, m.error);
  const resource = appErrorFromErrno(m.errno, null, what);
  if (resource) return new AppError(resource.code, `${resource.message} (${m.error})`);
  return new AppError('internal', `${what} failed: ${m.error}`);
}

/**
 * Starts a worker with one job and resolves with what `result` extracts from its messages.
 * Aborting the signal cancels the job; a worker that dies is an error naming how.
 */
export function runWorkerJob<T>(
  ctx: WorkerContext,
  job: EngineJob,
  result: (m: WorkerMessage) => T | undefined,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; onMessage?: (m: WorkerMessage) => void; what: string },
): Promise<T> {
  if (opts.signal?.aborted) return Promise.reject(new AppError('cancelled', `${opts.what} was cancelled.`));
  const worker = ctx.launcher(ctx.workerEntry, { ...process.env, ...ctx.env });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      worker.send({ type: 'cancel' });
      setTimeout(() => worker.kill(), 5000).unref();
      settle(() => reject(new AppError('cancelled', `${opts.what} was cancelled.`)));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.onMessage((m) => {
      if (m.type === 'ready') {
        worker.send({ type: 'start', job });
        return;
      }
      if (m.type === 'progress') opts.onProgress?.(m.done, m.total);
      opts.onMessage?.(m);
      if (m.type === 'failed') settle(() => reject(workerFailure(opts.what, m)));
      if (m.type === 'cancelled') settle(() => reject(new AppError('cancelled', `${opts.what} was cancelled.`)));
      const value = result(m);
      if (value !== undefined) settle(() => resolve(value));
    });
    worker.onExit((code, signal) => {
      settle(() => reject(new AppError('internal', `${opts.what} stopped unexpectedly (${signal ? `killed by ${signal}` : `exit code ${code}`}); it may have run out of memory.`)));
    });
  });
}

const IDLE_MS = 5 * 60_000;

/** One worker with one model loaded, answering predictions until idle for 5 minutes. */
export class ModelServer {
  private worker: WorkerHandle | null = null;
  private modelDir: string | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(p: Prediction[]): void; reject(e: Error): void }>();
  private idle: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: WorkerContext) {}

  async predict(modelDir: string, texts: string[]): Promise<Prediction[]> {
    if (this.modelDir !== modelDir || !this.worker) this.start(modelDir);
    await this.ready;
    this.touch();
    const id = this.nextId++;
    return new Promise<Prediction[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.send({ type: 'request', id, texts });
    });
  }

  private start(modelDir: string): void {
    this.stop();
    const worker = this.ctx.launcher(this.ctx.workerEntry, { ...process.env, ...this.ctx.env });
    this.worker = worker;
    this.modelDir = modelDir;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.onMessage((m) => {
        if (m.type === 'ready') worker.send({ type: 'start', job: { kind: 'serve', modelDir } });
        else if (m.type === 'serving') resolve();
        else if (m.type === 'failed') reject(new AppError('internal', `Loading the model failed: ${m.error}`));
        else if (m.type === 'response') this.settle(m.id, (p) => p.resolve(m.predictions));
        else if (m.type === 'response-error') this.settle(m.id, (p) => p.reject(new AppError('internal', `Prediction failed: ${m.error}`)));
      });
      worker.onExit((code, signal) => {
        const err = new AppError('internal', `The prediction process stopped (${signal ?? `exit code ${code}`}).`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.worker === worker) {
          this.worker = null;
          this.modelDir = null;
        }
      });
    });
    this.ready.catch(() => undefined);
    this.touch();
  }

  private settle(id: number, fn: (p: { resolve(p: Prediction[]): void; reject(e: Error): void }) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    fn(p);
  }

  private touch(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), IDLE_MS);
    this.idle.unref();
  }

  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (this.worker) {
      this.worker.send({ type: 'cancel' });
      const w = this.worker;
      setTimeout(() => w.kill(), 2000).unref();
    }
    this.worker = null;
    this.modelDir = null;
  }
}
