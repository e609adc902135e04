/** Domain types shared by main, preload, renderer and CLI. Plain serialisable data only. */
import type { JsonObject } from './json';

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Which TensorFlow.js backend trains, best first. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  name: BackendName;
  /** For people: "CUDA GPU (TensorFlow)", "CPU (TensorFlow native)", "CPU (native kernels)", "WASM", "JavaScript". */
  label: string;
  /** Why this one was chosen, and what was tried before it. */
  detail: string;
}

export interface SystemInfo {
  appVersion: string;
  /** Where runs, the database and prepared datasets live. */
  dataDir: string;
  /** How the app is hosted: the Electron window, the browser host, or the command line. */
  host: 'electron' | 'web' | 'cli';
  backend: BackendInfo;
  cpuCount: number;
  cpuModel: string;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  platform: string;
  arch: string;
  nodeVersion: string;
  electronVersion: string | null;
}

export interface RunSummary {
  id: string;
  name: string;
  /** Epoch milliseconds. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  status: RunStatus;
  modelId: string | null;
  datasetFingerprint: string | null;
  datasetName: string | null;
  backend: string | null;
  /** Value of the metric that picks the best evaluation (bestMetricName), at the best evaluation. */
  bestMetric: number | null;
  bestMetricName: string | null;
  /** Accuracy at the best evaluation (the Runs table shows it whatever picks the best). */
  bestAccuracy: number | null;
  error: string | null;
}

export interface StepMetric {
  step: number;
  epoch: number;
  loss: number;
  learningRate: number;
  samplesPerSecond: number | null;
}

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvalMetrics {
  /** Optimizer step after which the evaluation ran. */
  step: number;
  /** Fractional epoch (1 = end of the first epoch). */
  epoch: number;
  evalLoss: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted], in label order. */
  confusion: number[][];
}

export const ARTIFACT_KINDS = ['checkpoint', 'model', 'predictions', 'export', 'dataset', 'log'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface Artifact {
  kind: ArtifactKind;
  path: string;
  createdAt: number;
}

/** One line of a run's log (backend, tokenising, evaluations, status), oldest first. */
export interface RunLogLine {
  /** Epoch milliseconds. */
  at: number;
  message: string;
}

export interface RunDetail extends RunSummary {
  /** The run's configuration as recorded (the RunConfig, JSON). */
  config: JsonObject;
  steps: StepMetric[];
  evals: EvalMetrics[];
  artifacts: Artifact[];
  /** The last lines of the run's log (train.log), when the caller asked the app for them. */
  log?: RunLogLine[];
}

/** What the trainer is doing, for progress bars. */
export const TRAIN_PHASES = ['starting', 'loading', 'tokenising', 'training', 'evaluating', 'saving', 'checkpointing'] as const;
export type TrainPhase = (typeof TRAIN_PHASES)[number];

export interface TrainPhaseEvent {
  phase: TrainPhase;
  done: number;
  total: number | null;
  etaSeconds: number | null;
  message: string;
}

/** One optimizer step, as the trainer reports it. */
export interface TrainStepEvent {
  step: number;
  totalSteps: number;
  /** Fractional epoch: 1.5 is halfway through the second epoch. */
  epoch: number;
  loss: number;
  learningRate: number;
  gradNorm: number;
  samplesPerSecond: number;
  tokensPerSecond: number;
  etaSeconds: number | null;
  elapsedSeconds: number;
}

/** One evaluation row: the eval-set row index, its true and predicted label and the probabilities. */
export interface EvalPrediction {
  index: number;
  text: string;
  label: number;
  predicted: number;
  probs: number[];
}
