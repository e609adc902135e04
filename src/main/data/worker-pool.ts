/**
 * A small pool of data worker threads (worker-entry.ts, built as out/main/data-worker.js):
 * inspect, preview, doctor and prepare run there, so the host's event loop keeps answering
 * (listRuns, events) while a big file is read. 2 to 4 threads depending on the cores; jobs wait
 * in order when all are busy. Each thread has a heap limit (resourceLimits): a file too big for
 * it ends the job with a clear error instead of taking the host down.
 *
 * Cancelling posts 'stop' (the job ends with AppError('cancelled') at its next check); a thread
 * that has not answered within 2 s is terminated and the job's temp folder removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DataProgress } from '../../shared/dataset';
import { AppError, appErrorFromErrno } from '../../shared/errors';
import type { DataJob, DataWorkerError, FromDataWorker, ToDataWorker } from './worker-protocol';

export interface DataPoolOptions {
  /** The worker bundle (out/main/data-worker.js). */
  entry: string;
  /** Threads at most (default: 2-4 by cores). */
  size?: number;
  /** Old-generation heap limit of each thread, in MB (default: by the machine's memory). */
  heapMb?: number;
  /** How long a stopped job may take to end before its thread is terminated (default 2 s). */
  stopGraceMs?: number;
  /** An idle thread ends after this long (default 30 s); the next job starts a new one. */
  idleMs?: number;
}

export interface DataJobOptions {
  signal?: AbortSignal;
  onProgress?: (p: DataProgress) => void;
  /** Token lengths for the doctor (runs in the engine worker); required when the job asks for them. */
  countTokens?: (texts: string[]) => Promise<number[]>;
  /** "Inspecting data.csv": names the job in cancellation and crash messages. */
  what: string;
}

export function defaultPoolSize(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(2, Math.min(4, cores - 1));
}

/** A quarter of the memory per thread when two run, within 512 MB .. 4 GB. */
export function defaultHeapMb(size: number): number {
  const totalMb = os.totalmem() / 1024 / 1024;
  return Math.round(Math.max(512, Math.min(4096, totalMb / (2 * size))));
}

/** The AppError (or Node-like error, which dispatch maps) for a failure reported by a thread. */
export function errorFromWorker(e: DataWorkerError): Error {
  if (e.code) return new AppError(e.code, e.message, e.field);
  if (e.errno) {
    const mapped = appErrorFromErrno(e.errno, e.path ?? null);
    if (mapped) return mapped;
    return Object.assign(new Error(e.message), { code: e.errno, ...(e.path ? { path: e.path } : {}) });
  }
  return new Error(e.message);
}

interface Job {
  id: number;
  job: DataJob;
  opts: DataJobOptions;
  resolve(value: unknown): void;
  reject(err: Error): void;
  settled: boolean;
  slot: Slot | null;
  stopTimer: NodeJS.Timeout | null;
  onAbort: () => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  idle: NodeJS.Timeout | null;
}

export class DataWorkerPool {
  private readonly size: number;
  private readonly heapMb: number;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: DataPoolOptions) {
    this.size = o.size ?? defaultPoolSize();
    this.heapMb = o.heapMb ?? defaultHeapMb(this.size);
  }

  /** Threads now running (busy or idle). */
  get threads(): number {
    return this.slots.size;
  }

  /** Runs a job in a thread; resolves with its result, rejects with its error (AppError when it has a code). */
  run<T>(job: DataJob, opts: DataJobOptions): Promise<T> {
    if (this.closed) return Promise.reject(new AppError('cancelled', `${opts.what} was cancelled: the app is closing.`));
    if (opts.signal?.aborted) return Promise.reject(new AppError('cancelled', `${opts.what} was cancelled.`));
    return new Promise<T>((resolve, reject) => {
      const j: Job = {
        id: this.nextId++,
        job,
        opts,
        resolve: resolve as (v: unknown) => void,
        reject,
        settled: false,
        slot: null,
        stopTimer: null,
        onAbort: () => this.cancel(j),
      };
      opts.signal?.addEventListener('abort', j.onAbort, { once: true });
      this.queue.push(j);
      this.pump();
    });
  }

  /** Terminates every thread (app shutdown); running and waiting jobs fail as cancelled. */
  close(): void {
    this.closed = true;
    for (const j of this.queue.splice(0)) this.settle(j, () => j.reject(new AppError('cancelled', `${j.opts.what} was cancelled: the app is closing.`)));
    for (const slot of [...this.slots]) {
      const j = slot.job;
      if (j) this.settle(j, () => j.reject(new AppError('cancelled', `${j.opts.what} was cancelled: the app is closing.`)));
      this.terminate(slot, j);
    }
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => s.job === null);
      if (!slot && this.slots.size < this.size) slot = this.spawn();
      if (!slot) return;
      const j = this.queue.shift()!;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = null;
      slot.job = j;
      j.slot = slot;
      // A busy thread keeps the process alive (the CLI awaits it); an idle one does not.
      slot.worker.ref();
      this.post(slot, { type: 'start', jobId: j.id, job: j.job });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.o.entry, { resourceLimits: { maxOldGenerationSizeMb: this.heapMb }, stdout: false, stderr: false });
    worker.unref();
    const slot: Slot = { worker, job: null, idle: null };
    this.slots.add(slot);
    worker.on('message', (m: FromDataWorker) => this.onMessage(slot, m));
    worker.on('error', (err: Error & { code?: string }) => {
      const j = slot.job;
      if (!j) return;
      const error =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new AppError(
              'unsupported',
              `${j.opts.what} needed more memory than the ${this.heapMb} MB a data worker may use, and was stopped. Split the file into smaller files, or use a machine with more memory.`,
            )
          : new AppError('internal', `${j.opts.what} failed in the data worker: ${err.message}. This is a bug; please report it with the log.`);
      this.settle(j, () => j.reject(error));
    });
    worker.on('exit', (code) => {
      this.slots.delete(slot);
      if (slot.idle) clearTimeout(slot.idle);
      const j = slot.job;
      slot.job = null;
      if (j) {
        this.removeTemp(j);
        this.settle(j, () => j.reject(new AppError('internal', `${j.opts.what} stopped unexpectedly (the data worker exited with code ${code}); it may have run out of memory.`)));
      }
      if (!this.closed) this.pump();
    });
    return slot;
  }

  private post(slot: Slot, message: ToDataWorker): void {
    slot.worker.postMessage(message);
  }

  private onMessage(slot: Slot, m: FromDataWorker): void {
    const j = slot.job;
    if (!j || j.id !== m.jobId) return;
    switch (m.type) {
      case 'progress':
        if (!j.settled) j.opts.onProgress?.(m.progress);
        break;
      case 'count-tokens': {
        const count = j.opts.countTokens;
        const answer = count ? count(m.texts) : Promise.reject(new AppError('internal', 'the doctor asked for token counts without a model'));
        answer.then(
          (counts) => {
            if (slot.job === j) this.post(slot, { type: 'token-counts', jobId: j.id, requestId: m.requestId, counts });
          },
          (err: unknown) => {
            const error = err instanceof AppError ? { message: err.message, code: err.code } : { message: err instanceof Error ? err.message : String(err) };
            if (slot.job === j) this.post(slot, { type: 'token-counts-failed', jobId: j.id, requestId: m.requestId, error });
          },
        );
        break;
      }
      case 'done':
      case 'failed':
        slot.job = null;
        if (m.type === 'failed') this.removeTemp(j);
        this.settle(j, () => (m.type === 'done' ? j.resolve(m.value) : j.reject(errorFromWorker(m.error))));
        this.release(slot);
        break;
    }
  }

  /** A thread whose job ended: the next job, or idle until it ends. */
  private release(slot: Slot): void {
    this.pump();
    if (slot.job === null && this.slots.has(slot)) {
      slot.worker.unref();
      slot.idle = setTimeout(() => this.terminate(slot, null), this.o.idleMs ?? 30_000);
      slot.idle.unref();
    }
  }

  private cancel(j: Job): void {
    if (j.settled) return;
    const queued = this.queue.indexOf(j);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(j, () => j.reject(new AppError('cancelled', `${j.opts.what} was cancelled.`)));
      return;
    }
    const slot = j.slot;
    if (!slot || slot.job !== j) return;
    this.post(slot, { type: 'stop', jobId: j.id });
    // The job answers 'failed' (cancelled) at its next check; one stuck in a long step is terminated.
    j.stopTimer = setTimeout(() => {
      if (slot.job !== j) return;
      slot.job = null;
      this.terminate(slot, j);
      this.settle(j, () => j.reject(new AppError('cancelled', `${j.opts.what} was cancelled.`)));
      this.pump();
    }, this.o.stopGraceMs ?? 2000);
    j.stopTimer.unref();
  }

  private terminate(slot: Slot, j: Job | null): void {
    this.slots.delete(slot);
    if (slot.idle) clearTimeout(slot.idle);
    slot.job = null;
    const done = slot.worker.terminate();
    if (j) void done.then(() => this.removeTemp(j), () => this.removeTemp(j));
  }

  /** What a job stopped mid-way may have left: prepare's temp folder. */
  private removeTemp(j: Job): void {
    if (j.job.kind !== 'prepare') return;
    try {
      fs.rmSync(j.job.tempDir, { recursive: true, force: true });
    } catch {
      // Swept with the other leftovers; nothing the user has to do now.
    }
  }

  private settle(j: Job, fn: () => void): void {
    if (j.settled) return;
    j.settled = true;
    if (j.stopTimer) clearTimeout(j.stopTimer);
    j.opts.signal?.removeEventListener('abort', j.onAbort);
    fn();
  }
}
