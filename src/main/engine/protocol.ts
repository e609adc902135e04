/**
 * Messages between the app and the engine worker (Electron utilityProcess, or a forked Node
 * process in the CLI and web host). The parent sends one job; the worker streams events and
 * ends with done, cancelled or failed.
 */
import type { DatasetRow, RunConfig } from '../../shared/run-config';
import type { BackendInfo, BackendName, TrainPhaseEvent, TrainStepEvent } from '../../shared/types';
import type { Prediction } from './inference';
import type { EvalEvent, TrainResult } from './trainer';

export interface TrainJobMessage {
  kind: 'train';
  runId: string;
  runDir: string;
  config: RunConfig;
  train: DatasetRow[];
  eval: DatasetRow[];
  resume: boolean;
}

export interface PredictJobMessage {
  kind: 'predict';
  modelDir: string;
  texts: string[];
  maxLength?: number;
}

export type EngineJob = (TrainJobMessage | PredictJobMessage) & { backend?: BackendName | null };

export type ParentMessage = { type: 'start'; job: EngineJob } | { type: 'cancel' };

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
  | { type: 'failed'; error: string };
