/**
 * Messages between the app and a data worker thread (worker-entry.ts, run by worker-pool.ts).
 * The app posts one job at a time to a worker; the worker streams progress and ends the job with
 * done or failed. The doctor's token counts need a model's tokenizer, which runs in the engine
 * worker: the data worker asks the app for them (count-tokens) and waits for token-counts.
 */
import type { DataProgress, DoctorSource, InspectOverrides, PrepareRequest } from '../../shared/dataset';
import type { AppErrorCode } from '../../shared/errors';

export type DataJob =
  | { kind: 'inspect'; file: string; overrides?: InspectOverrides; displayName?: string }
  | { kind: 'preview'; file: string; limit?: number; overrides?: InspectOverrides }
  | {
      kind: 'doctor';
      source: DoctorSource;
      dataDir: string;
      maxLength?: number;
      minClassSize?: number;
      /** True when the app can count tokens (a model is on this machine): the worker asks for them. */
      countTokens: boolean;
    }
  /** tempDir: where prepare writes before renaming (the pool removes it when it stops the worker). */
  | { kind: 'prepare'; request: PrepareRequest; dataDir: string; tempDir: string };

export type DataJobKind = DataJob['kind'];

/** A failure as it crosses the thread boundary: an AppError's code, or a Node error's errno and path. */
export interface DataWorkerError {
  message: string;
  /** Set when the worker threw an AppError. */
  code?: AppErrorCode;
  field?: string;
  /** A Node system error's code (ENOENT, EACCES, ENOSPC...) and the path it names. */
  errno?: string;
  path?: string;
}

export type ToDataWorker =
  | { type: 'start'; jobId: number; job: DataJob }
  | { type: 'stop'; jobId: number }
  | { type: 'token-counts'; jobId: number; requestId: number; counts: number[] }
  | { type: 'token-counts-failed'; jobId: number; requestId: number; error: DataWorkerError };

export type FromDataWorker =
  | { type: 'progress'; jobId: number; progress: DataProgress }
  | { type: 'count-tokens'; jobId: number; requestId: number; texts: string[] }
  | { type: 'done'; jobId: number; value: unknown }
  | { type: 'failed'; jobId: number; error: DataWorkerError };
