/**
 * The contract between the UI and the app: every call the renderer can make (AppApi) and every
 * event it can receive (AppEvents). Electron IPC, the web host and the CLI all serve this one
 * contract; src/shared/schema.ts holds the input schema of each method.
 */
import type { EvalMetrics, RunDetail, RunStatus, RunSummary, SystemInfo, TrainPhaseEvent, TrainStepEvent } from './types';

export interface AppApi {
  /** App version, data folder, the backend that would train, CPUs and memory. */
  systemInfo(): Promise<SystemInfo>;
  /** Every run, newest first. */
  listRuns(): Promise<RunSummary[]>;
  /** One run with its configuration, metrics and artifacts. */
  getRun(id: string): Promise<RunDetail>;
  renameRun(id: string, name: string): Promise<RunSummary>;
  /** Deletes the run's row, metrics and files. Refused while it is running. */
  deleteRun(id: string): Promise<void>;
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

/** Every event the app pushes to the UI, by name. */
export interface AppEvents {
  'run-status': RunStatusEvent;
  'runs-changed': RunsChangedEvent;
  'run-step': RunStepEvent;
  'run-eval': RunEvalEvent;
  'run-phase': RunPhaseEvent;
  'run-log': RunLogEvent;
}

export type AppEventName = keyof AppEvents;
export type AppEventListener<K extends AppEventName> = (payload: AppEvents[K]) => void;

/** Subscribing to events; the returned function unsubscribes. */
export interface AppEventSource {
  on<K extends AppEventName>(event: K, listener: AppEventListener<K>): () => void;
}

/** What the renderer sees as window.api (Electron preload) or the web client. */
export type RendererApi = AppApi & AppEventSource;

export const APP_EVENT_NAMES = ['run-status', 'runs-changed', 'run-step', 'run-eval', 'run-phase', 'run-log'] as const satisfies readonly AppEventName[];
