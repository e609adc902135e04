/**
 * The contract between the UI and the app: every call the renderer can make (AppApi) and every
 * event it can receive (AppEvents). Electron IPC, the web host and the CLI all serve this one
 * contract; src/shared/schema.ts holds the input schema of each method.
 *
 * Long calls (inspect, prepare, doctor, download, estimate, export, batch predict) take an
 * optional taskId chosen by the caller: progress arrives as 'task-progress' events with that
 * id, and cancelTask(taskId) stops the call, which then fails with code 'cancelled'.
 */
import type {
  BaselineSummary,
  DatasetInspection,
  DatasetPreview,
  DoctorReport,
  DoctorSource,
  InspectOverrides,
  PrepareRequest,
  PreparedDataset,
} from './dataset';
import type { CallResult } from './errors';
import type { ModelStart } from './learning-check';
import type { CatalogModel, DownloadProgress, ImportReport } from './models';
import type { FolderListing, ScratchModel, ScratchShape } from './scratch';
import type { MlmStage, TrainingOptions } from './run-config';
import type {
  CsvExportOptions,
  BackendName,
  EvalMetrics,
  EvalPrediction,
  RunDetail,
  RunStatus,
  RunSummary,
  SystemInfo,
  TrainPhaseEvent,
  TrainStepEvent,
} from './types';

/** What the user chose for a new run; the app resolves the model and the dataset. */
export interface StartRunRequest {
  /** Shown in the Runs table; default "<model> on <dataset>". */
  name?: string;
  /** A Hub id ("roberta-base") or a model folder. */
  model: string;
  /** A prepared dataset (its fingerprint). */
  datasetId: string;
  options: TrainingOptions;
  /** Train on this backend instead of the best available (the CLI's --backend); not recorded in the run's config. */
  backend?: BackendName;
  /** 'scratch' for a model with random weights (createScratchModel); absent: found from the model folder. */
  modelStart?: ModelStart;
  /** Masked-LM adaptation before fine-tuning ("adapt the model to your texts first"); absent or null: off. */
  mlm?: MlmStage | null;
}

export interface TextPrediction {
  label: string;
  score: number;
  scores: Record<string, number>;
}

export interface EvalPredictionQuery {
  /** Label index of the truth (row of the confusion matrix), or null for any. */
  trueLabel: number | null;
  /** Label index of the prediction (column), or null for any. */
  predictedLabel: number | null;
  /** At most this many rows (default 200). */
  limit?: number;
}

export interface TrainingEstimate {
  backend: string;
  /** Training throughput measured on a few warm-up steps of this model and data. */
  samplesPerSecond: number;
  /** One epoch of the training rows at that speed (evaluation not included). */
  secondsPerEpoch: number;
  /** Total for the requested epochs plus one evaluation per epoch. */
  secondsTotal: number;
}

export const EXPORT_FORMATS = ['hf', 'predictions', 'recipe', 'baseline'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportResult {
  format: ExportFormat;
  /** The folder (or file) written. */
  path: string;
  files: string[];
  /** Bytes written, where the writer counts them. */
  bytes?: number;
}

/** What a file chooser returns: the chosen path, or null when the user cancelled. */
export type ChosenPath = string | null;

export interface AppApi {
  // --- system ---------------------------------------------------------------
  /** App version, data folder, the backend that would train, CPUs and memory. */
  systemInfo(): Promise<SystemInfo>;
  /** Cancels a long call started with this taskId. No-op when it already ended. */
  cancelTask(taskId: string): Promise<void>;
  /** Native file chooser (Electron only; the web host answers 'unsupported': use a file input). */
  chooseFile(purpose: 'dataset' | 'predict-input'): Promise<ChosenPath>;
  /** Native folder chooser (Electron only; 'unsupported' in the web host). */
  chooseFolder(purpose: 'model' | 'export'): Promise<ChosenPath>;
  /** Shows a file or folder in the system file manager (Electron only). */
  showInFolder(path: string): Promise<void>;

  // --- datasets -------------------------------------------------------------
  inspectDataset(file: string, overrides?: InspectOverrides, taskId?: string): Promise<DatasetInspection>;
  previewDataset(file: string, limit?: number, overrides?: InspectOverrides): Promise<DatasetPreview>;
  prepareDataset(request: PrepareRequest, taskId?: string): Promise<PreparedDataset>;
  listDatasets(): Promise<PreparedDataset[]>;
  getDataset(id: string): Promise<PreparedDataset>;
  /** Deletes a prepared dataset. Refused while a queued or running run trains on it. */
  deleteDataset(id: string): Promise<void>;
  /** The data doctor; with a model (Hub id or folder) it also measures token lengths. */
  doctorDataset(source: DoctorSource, options?: { model?: string; maxLength?: number; minClassSize?: number }, taskId?: string): Promise<DoctorReport>;
  /**
   * Trains and scores the keyword baseline (TF-IDF + logistic regression) of a prepared dataset;
   * prepareDataset already does this, so this is for datasets prepared before. Seconds; cancellable.
   */
  computeBaseline(datasetId: string, taskId?: string): Promise<BaselineSummary>;

  // --- models ---------------------------------------------------------------
  listModels(): Promise<CatalogModel[]>;
  /** Downloads a Hub model into the Hugging Face cache (resumes; progress as 'download-progress'). */
  downloadModel(repo: string, revision?: string, taskId?: string): Promise<{ repo: string; dir: string }>;
  /** What a local model folder holds and whether it can be trained. */
  inspectModelFolder(dir: string): Promise<ImportReport>;
  /**
   * A small BERT with random weights and the tokenizer that ships with the app, in the data folder
   * (models/scratch-<shape>); made once, then reused.
   */
  createScratchModel(request: { shape: ScratchShape; labels?: string[] }): Promise<ScratchModel>;
  /** Subfolders of a folder under the user's home or the data folder (the browser host's folder picker). */
  listFolder(path?: string): Promise<FolderListing>;
  /** Measures training throughput on a few steps and estimates the time per epoch. */
  estimateTraining(request: StartRunRequest, taskId?: string): Promise<TrainingEstimate>;

  // --- runs -----------------------------------------------------------------
  /** Every run, newest first. */
  listRuns(): Promise<RunSummary[]>;
  /** One run with its configuration, metrics and artifacts. */
  getRun(id: string): Promise<RunDetail>;
  renameRun(id: string, name: string): Promise<RunSummary>;
  /** Deletes the run's row, metrics and files. Refused while it is running. */
  deleteRun(id: string): Promise<void>;
  startRun(request: StartRunRequest): Promise<RunSummary>;
  cancelRun(id: string): Promise<void>;
  /** Continues an interrupted (or failed) run from its last checkpoint. */
  resumeRun(id: string): Promise<RunSummary>;
  /** A new run with the same settings, model and dataset. */
  rerun(id: string): Promise<RunSummary>;
  /** Evaluation rows of the run's best evaluation, filtered by true and predicted label. */
  evalPredictions(id: string, query: EvalPredictionQuery): Promise<EvalPrediction[]>;
  /** Class probabilities of texts with the run's best model (the try-it box). */
  predictTexts(id: string, texts: string[]): Promise<TextPrediction[]>;
  /** Batch prediction of a file with the run's model: a CSV beside the run; returns its path. */
  predictFile(id: string, inputFile: string, taskId?: string, options?: CsvExportOptions): Promise<ExportResult>;
  /** Hugging Face folder, predictions CSV or training recipe; outDir defaults to the run's exports folder. */
  exportRun(id: string, format: ExportFormat, outDir?: string, taskId?: string, options?: CsvExportOptions): Promise<ExportResult>;
}

export type ApiMethod = keyof AppApi;

export interface RunStatusEvent {
  runId: string;
  status: RunStatus;
  error: string | null;
}

export interface RunsChangedEvent {
  reason: 'created' | 'renamed' | 'deleted' | 'status';
  runId: string;
}

export type RunStepEvent = TrainStepEvent & { runId: string };
export type RunPhaseEvent = TrainPhaseEvent & { runId: string };

export interface RunEvalEvent {
  runId: string;
  metrics: EvalMetrics;
  isBest: boolean;
}

export interface RunLogEvent {
  runId: string;
  message: string;
}

/** Progress of a long call, by the taskId its caller chose. */
export interface TaskProgressEvent {
  taskId: string;
  /** What is happening, for people ("Reading", "Tokenising", "Downloading model.safetensors"). */
  phase: string;
  done: number;
  total: number | null;
  unit: 'bytes' | 'rows' | 'steps' | 'files' | 'items';
  etaSeconds: number | null;
}

export type DownloadProgressEvent = DownloadProgress & { taskId: string | null };

/** Every event the app pushes to the UI, by name. */
export interface AppEvents {
  'run-status': RunStatusEvent;
  'runs-changed': RunsChangedEvent;
  'run-step': RunStepEvent;
  'run-eval': RunEvalEvent;
  'run-phase': RunPhaseEvent;
  'run-log': RunLogEvent;
  'task-progress': TaskProgressEvent;
  'download-progress': DownloadProgressEvent;
}

export type AppEventName = keyof AppEvents;
export type AppEventListener<K extends AppEventName> = (payload: AppEvents[K]) => void;

/** Subscribing to events; the returned function unsubscribes. */
export interface AppEventSource {
  on<K extends AppEventName>(event: K, listener: AppEventListener<K>): () => void;
}

/**
 * Files the user drops or picks in the page: Electron gives their path (webUtils); the web host
 * uploads them into the data folder and gives that path.
 */
export interface FileAccess {
  pathForFile(file: File): Promise<string>;
}

/** What the renderer's client offers (over the Electron preload or the web host). */
export type RendererApi = AppApi & AppEventSource & FileAccess;

/**
 * What the Electron preload exposes as window.api: every AppApi method answers the CallResult
 * object itself ({ ok, value } or { ok: false, error: { code, message, field } }). contextBridge
 * copies only the message of a thrown Error, so nothing is thrown across it: the renderer's client
 * turns an error result into a typed AppError.
 */
export type BridgeApi = {
  [K in keyof AppApi]: (...args: Parameters<AppApi[K]>) => Promise<CallResult<Awaited<ReturnType<AppApi[K]>>>>;
} & AppEventSource &
  FileAccess;

export const APP_EVENT_NAMES = [
  'run-status',
  'runs-changed',
  'run-step',
  'run-eval',
  'run-phase',
  'run-log',
  'task-progress',
  'download-progress',
] as const satisfies readonly AppEventName[];
