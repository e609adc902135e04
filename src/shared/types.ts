/** Domain types shared by main, preload, renderer and CLI. Plain serialisable data only. */
import type { JsonObject } from './json';

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Which TensorFlow.js backend trains, best first. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  name: BackendName;
  /** For people: "CUDA GPU (TensorFlow)", "CPU (TensorFlow native)", "CPU (native kernels)", "WASM", "JavaScript". */
  label: string;
  /** Why this one was chosen, and what was tried before it. */
  detail: string;
}

/**
 * What asking the GPU driver through WebGPU found (an engine worker asks once per app start, in
 * the background): 'found' names a real GPU, which training then uses; 'probing' means the answer
 * is on its way (ask systemInfo again).
 */
export type WebGpuStatus =
  | { state: 'probing' }
  | { state: 'found'; label: string }
  | { state: 'software-only'; label: string }
  | { state: 'no-adapter'; reason: string }
  | { state: 'no-package'; reason: string }
  | { state: 'probe-failed'; reason: string }
  /** Not asked: the backend is forced (FINETUNE_BACKEND), or this host does not ask (the CLI). */
  | { state: 'not-asked'; reason: string };

export interface SystemInfo {
  appVersion: string;
  /** Where runs, the database and prepared datasets live. */
  dataDir: string;
  /** How the app is hosted: the Electron window, the browser host, or the command line. */
  host: 'electron' | 'web' | 'cli';
  backend: BackendInfo;
  /** The WebGPU adapter query's answer; while it is 'probing', `backend` is the choice without a GPU. */
  webgpu: WebGpuStatus;
  cpuCount: number;
  cpuModel: string;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  platform: string;
  arch: string;
  nodeVersion: string;
  electronVersion: string | null;
  /** What happens when two runs train at once (see RunConcurrency). */
  runConcurrency: RunConcurrency;
  /** Runs training now in this data folder, in any process. */
  activeRunIds: string[];
  /** What the app repaired or cleaned at start (damaged database, interrupted runs...). */
  startupNotices: StartupNotice[];
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
  /** The keyword baseline of the run's dataset (accuracy and macro-F1 on the same evaluation rows), or null when none was computed. */
  baselineAccuracy: number | null;
  baselineMacroF1: number | null;
  error: string | null;
  /** The process training this run (set while it is running or queued), or null. */
  owner: RunOwner | null;
  /** True when this app instance trains it (it can cancel it); false when another process does. */
  ownedHere: boolean;
}

/** Options of a predictions CSV (predictFile, exportRun 'predictions'). */
export interface CsvExportOptions {
  /**
   * Default true: cells a spreadsheet would run as a formula (starting with = + - @, tab or
   * carriage return) are written as '<cell>, quoted. false writes them verbatim (raw data).
   */
  csvInjectionSafe?: boolean;
}

/** Who trains a run: `finetune train`, a web host or the desktop app, by pid, since startedAt. */
export interface RunOwner {
  pid: number;
  host: 'cli' | 'web' | 'electron';
  /** Epoch milliseconds when this process took the run. */
  startedAt: number;
}

/**
 * Two runs at once: allowed ('parallel'); each gets its own trainer process and they share the
 * CPU/GPU and memory, so each one is slower. The UI shows `note` when more than one run trains.
 */
export interface RunConcurrency {
  mode: 'parallel';
  note: string;
}

/** Something the app did at start that the user should know (shown once, e.g. as a banner). */
export interface StartupNotice {
  kind: 'database-rebuilt' | 'runs-recovered' | 'model-restored' | 'temp-files-removed';
  message: string;
  /** For database-rebuilt: where the damaged file was kept. */
  path?: string;
}

export interface StepMetric {
  step: number;
  epoch: number;
  loss: number;
  learningRate: number;
  samplesPerSecond: number | null;
  /** 'mlm': a step of the masked-LM adaptation stage; absent: fine-tuning. */
  stage?: TrainStage;
}

export const TRAIN_STAGES = ['mlm', 'finetune'] as const;
export type TrainStage = (typeof TRAIN_STAGES)[number];

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
  /** Steps of the masked-LM adaptation stage (absent or empty: the run had none). */
  mlmSteps?: StepMetric[];
  evals: EvalMetrics[];
  artifacts: Artifact[];
  /** The last lines of the run's log (train.log), when the caller asked the app for them. */
  log?: RunLogLine[];
}

/** What the trainer is doing, for progress bars. */
export const TRAIN_PHASES = ['starting', 'loading', 'tokenising', 'adapting', 'training', 'evaluating', 'saving', 'checkpointing'] as const;
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
  /** 'mlm': a masked-LM adaptation step (loss over the masked tokens); absent: fine-tuning. */
  stage?: TrainStage;
}

/** One evaluation row: the eval-set row index, its true and predicted label and the probabilities. */
export interface EvalPrediction {
  index: number;
  text: string;
  label: number;
  predicted: number;
  probs: number[];
}
