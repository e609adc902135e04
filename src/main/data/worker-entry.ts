/**
 * The data worker's entry (out/main/data-worker.js): a worker thread that runs inspect, preview,
 * doctor and prepare away from the host's event loop, one job at a time, and reports progress.
 * 'stop' aborts the job (it ends with AppError('cancelled')); a job that does not end in time is
 * terminated by the pool (worker-pool.ts), which removes its temp folder.
 */
import { parentPort } from 'node:worker_threads';
import { AppError } from '../../shared/errors';
import { doctorDataset } from './doctor';
import { inspectDataset, previewDataset } from './inspect';
import { prepareDataset } from './prepare';
import type { ProgressListener } from './progress';
import type { DataJob, DataWorkerError, FromDataWorker, ToDataWorker } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('data-worker.js runs as a worker thread (new Worker), not as a script');

function send(message: FromDataWorker): void {
  port!.postMessage(message);
}

export function serializeError(err: unknown): DataWorkerError {
  if (err instanceof AppError) return { message: err.message, code: err.code, ...(err.field !== undefined ? { field: err.field } : {}) };
  const e = err as (NodeJS.ErrnoException & { dest?: string }) | null;
  const message = err instanceof Error ? err.message : String(err);
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    const where = e.path ?? e.dest;
    return { message, errno: e.code, ...(where ? { path: where } : {}) };
  }
  return { message };
}

interface Running {
  abort: AbortController;
  tokenRequests: Map<number, { resolve(counts: number[]): void; reject(err: Error): void }>;
}

const jobs = new Map<number, Running>();
let nextRequest = 1;

async function run(jobId: number, job: DataJob, running: Running): Promise<unknown> {
  const signal = running.abort.signal;
  const onProgress: ProgressListener = (progress) => send({ type: 'progress', jobId, progress });
  switch (job.kind) {
    case 'inspect':
      return inspectDataset(job.file, { overrides: job.overrides, displayName: job.displayName, signal, onProgress });
    case 'preview':
      return previewDataset(job.file, { limit: job.limit, overrides: job.overrides, signal, onProgress });
    case 'prepare':
      return prepareDataset(job.request, job.dataDir, { tempDir: job.tempDir, signal, onProgress });
    case 'doctor': {
      const countTokens = job.countTokens
        ? (texts: string[]): Promise<number[]> =>
            new Promise((resolve, reject) => {
              const requestId = nextRequest++;
              running.tokenRequests.set(requestId, { resolve, reject });
              send({ type: 'count-tokens', jobId, requestId, texts });
            })
        : undefined;
      return doctorDataset(job.source, { dataDir: job.dataDir, maxLength: job.maxLength, minClassSize: job.minClassSize, countTokens, signal, onProgress });
    }
  }
}

port.on('message', (message: ToDataWorker) => {
  switch (message.type) {
    case 'start': {
      const running: Running = { abort: new AbortController(), tokenRequests: new Map() };
      jobs.set(message.jobId, running);
      run(message.jobId, message.job, running).then(
        (value) => send({ type: 'done', jobId: message.jobId, value }),
        (err: unknown) => {
          const error = running.abort.signal.aborted && !(err instanceof AppError) ? { message: 'Cancelled.', code: 'cancelled' as const } : serializeError(err);
          send({ type: 'failed', jobId: message.jobId, error });
        },
      ).finally(() => jobs.delete(message.jobId));
      break;
    }
    case 'stop': {
      const running = jobs.get(message.jobId);
      if (!running) break;
      running.abort.abort();
      for (const r of running.tokenRequests.values()) r.reject(new AppError('cancelled', 'Cancelled.'));
      running.tokenRequests.clear();
      break;
    }
    case 'token-counts':
    case 'token-counts-failed': {
      const request = jobs.get(message.jobId)?.tokenRequests.get(message.requestId);
      if (!request) break;
      jobs.get(message.jobId)!.tokenRequests.delete(message.requestId);
      if (message.type === 'token-counts') request.resolve(message.counts);
      else request.reject(message.error.code ? new AppError(message.error.code, message.error.message, message.error.field) : new Error(message.error.message));
      break;
    }
  }
});
