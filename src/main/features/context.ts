/** What every part of the AppApi implementation shares. */
import type { RunRepository } from '../store/runs';
import type { AppEventBus } from '../events';
import type { TaskRegistry } from '../tasks';
import type { TrainingService } from '../training/service';
import type { ModelServer, WorkerContext } from '../training/jobs';
import type { DataWorkerPool } from '../data/worker-pool';
import type { StartupNotice, SystemInfo, WebGpuStatus } from '../../shared/types';

/** What only some hosts can do (Electron's dialogs and shell); absent ones answer 'unsupported'. */
export interface HostCapabilities {
  chooseFile?(purpose: 'dataset' | 'predict-input'): Promise<string | null>;
  chooseFolder?(purpose: 'model' | 'export'): Promise<string | null>;
  showInFolder?(path: string): Promise<void>;
}

export interface AppContext {
  dataDir: string;
  host: SystemInfo['host'];
  electronVersion: string | null;
  runs: RunRepository;
  events: AppEventBus;
  tasks: TaskRegistry;
  training: TrainingService;
  workers: WorkerContext;
  modelServer: ModelServer;
  /** Worker threads for inspect, preview, doctor and prepare (off the host's event loop). */
  dataPool: DataWorkerPool;
  capabilities: HostCapabilities;
  /** The host's own WebGPU query (Electron: its engine window), or null: Dawn in an engine worker. */
  webGpuProbe: (() => Promise<WebGpuStatus>) | null;
  /** What the app repaired or cleaned at start (shown by systemInfo). */
  startupNotices: StartupNotice[];
}
