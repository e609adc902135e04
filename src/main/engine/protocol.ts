/**
 * Messages between the app and the engine worker (Electron utilityProcess, or a forked Node
 * process in the CLI and web host). The parent sends one job; the worker streams events and
 * ends with done, cancelled or failed.
 */
import type { BaselineSummary } from '../../shared/dataset';
import type { BackendInfo, BackendName, TrainPhaseEvent, TrainStepEvent, WebGpuStatus } from '../../shared/types';
import type { Prediction } from './inference';
import type { BenchmarkRequest } from './benchmark';
import type { EvalEvent, TrainJob, TrainResult } from './trainer';

/**
 * A training run. The rows are not in the message: the worker reads them from the prepared
 * dataset (<dataDir>/datasets/<id>/), checking them against its fingerprint, so the app never
 * holds them.
 */
export type TrainJobMessage = { kind: 'train'; dataset: { dataDir: string; id: string } } & Omit<TrainJob, 'train' | 'eval'>;

export interface PredictJobMessage {
  kind: 'predict';
  modelDir: string;
  texts: string[];
  maxLength?: number;
}

/** Keeps a model loaded and answers 'request' messages until told to stop (the try-it box). */
export interface ServeJobMessage {
  kind: 'serve';
  modelDir: string;
}

/** Token lengths of texts with a model's tokenizer (the data doctor's histogram). */
export interface CountTokensJobMessage {
  kind: 'count-tokens';
  modelDir: string;
  texts: string[];
}

/** A few timed training steps: the throughput behind the time estimate. */
export type BenchmarkJobMessage = { kind: 'benchmark' } & BenchmarkRequest;

/** Batch prediction of a file with a run's model, written as a CSV (export/predict-file). */
export interface PredictFileJobMessage {
  kind: 'predict-file';
  dataDir: string;
  runId: string;
  input: string;
  out: string;
  /** false: predictions CSV cells verbatim (default: formulas neutralised). */
  csvInjectionSafe?: boolean;
}

/**
 * The keyword baseline of a prepared dataset (<dataDir>/datasets/<datasetId>/): trained on its
 * training rows, scored on its evaluation rows; writes baseline.json (the model) and
 * baseline-report.json (a BaselineSummary) beside meta.json and answers 'baseline'.
 */
export interface BaselineJobMessage {
  kind: 'baseline';
  dataDir: string;
  datasetId: string;
}

/** kind 'probe-webgpu': asks the driver for a WebGPU adapter (Dawn), answers 'webgpu-probe' and closes the device. */
export interface ProbeWebGpuJobMessage {
  kind: 'probe-webgpu';
}

export type EngineJob = (
  | TrainJobMessage
  | PredictJobMessage
  | ServeJobMessage
  | CountTokensJobMessage
  | BenchmarkJobMessage
  | PredictFileJobMessage
  | BaselineJobMessage
  | ProbeWebGpuJobMessage
) & {
  backend?: BackendName | null;
};

export type ParentMessage =
  | { type: 'start'; job: EngineJob }
  | { type: 'cancel' }
  | { type: 'request'; id: number; texts: string[] };

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'backend'; backend: BackendInfo }
  | { type: 'phase'; event: TrainPhaseEvent }
  | { type: 'step'; event: TrainStepEvent }
  | { type: 'eval'; event: EvalEvent }
  | { type: 'checkpoint'; step: number; epoch: number; path: string }
  | { type: 'log'; message: string }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; result: TrainResult }
  | { type: 'predictions'; predictions: Prediction[] }
  | { type: 'cancelled'; result: TrainResult | null }
  /** errno: the Node error code (ENOSPC, EACCES...) when a file operation failed; code: an AppError's code. */
  | { type: 'failed'; error: string; errno?: string; code?: string }
  | { type: 'serving'; labels: string[] }
  | { type: 'response'; id: number; predictions: Prediction[] }
  | { type: 'response-error'; id: number; error: string }
  | { type: 'token-counts'; counts: number[] }
  | { type: 'benchmark'; samplesPerSecond: number; tokensPerSecond: number }
  | { type: 'data-progress'; phase: string; done: number; total: number | null; etaSeconds: number | null }
  | { type: 'exported'; path: string; files: string[]; rows: number }
  | { type: 'baseline'; summary: BaselineSummary }
  | { type: 'webgpu-probe'; status: WebGpuStatus };
