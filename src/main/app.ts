/**
 * createApp(): the AppApi implementation in plain Node. Electron IPC, the web host and the CLI
 * each wrap the same instance; none of this imports electron. Each area of the API lives in
 * src/main/features and calls the room that does the work (data, hub, engine via the worker,
 * store, export).
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { AppApi } from '../shared/api';
import type { SystemInfo } from '../shared/types';
import { loadPreparedDataset } from './data';
import { AppEventBus } from './events';
import type { AppContext, HostCapabilities } from './features/context';
import { datasetsApi } from './features/datasets';
import { modelsApi } from './features/models';
import { runsApi } from './features/runs';
import { systemApi } from './features/system';
import { databasePath, openDatabase } from './store/database';
import { RunRepository } from './store/runs';
import { TaskRegistry } from './tasks';
import { ModelServer } from './training/jobs';
import { defaultWorkerEntry, forkLauncher, type WorkerLauncher } from './training/launcher';
import { TrainingService } from './training/service';

export interface AppOptions {
  dataDir: string;
  host: SystemInfo['host'];
  /** better_sqlite3.node built for this runtime (Electron). */
  sqliteBinding?: string;
  electronVersion?: string | null;
  /** How to start the engine worker (Electron passes a utilityProcess launcher). */
  launcher?: WorkerLauncher;
  /** The worker bundle (default: trainer.js beside this bundle). */
  workerEntry?: string;
  /** Dialogs and shell access of the host (Electron); absent ones answer 'unsupported'. */
  capabilities?: HostCapabilities;
}

export interface App {
  api: AppApi;
  events: AppEventBus;
  runs: RunRepository;
  training: TrainingService;
  tasks: TaskRegistry;
  db: Database.Database;
  dataDir: string;
  /** How many runs were found `running` at start and marked interrupted. */
  recoveredRuns: number;
  close(): void;
}

export function createApp(options: AppOptions): App {
  const { dataDir } = options;
  fs.mkdirSync(dataDir, { recursive: true });
  const db = openDatabase(databasePath(dataDir), { nativeBinding: options.sqliteBinding });
  const runs = new RunRepository(db);
  const events = new AppEventBus();
  const tasks = new TaskRegistry(events);
  const recoveredRuns = runs.recoverInterrupted();
  const workers = { launcher: options.launcher ?? forkLauncher, workerEntry: options.workerEntry ?? defaultWorkerEntry() };
  const training = new TrainingService({
    dataDir,
    runs,
    events,
    ...workers,
    loadRows: async (config) => {
      const loaded = await loadPreparedDataset(dataDir, config.dataset.fingerprint);
      return { train: loaded.train, eval: loaded.eval };
    },
  });
  const modelServer = new ModelServer(workers);
  const ctx: AppContext = {
    dataDir,
    host: options.host,
    electronVersion: options.electronVersion ?? null,
    runs,
    events,
    tasks,
    training,
    workers,
    modelServer,
    capabilities: options.capabilities ?? {},
  };

  const api: AppApi = {
    ...systemApi(ctx),
    ...datasetsApi(ctx),
    ...modelsApi(ctx),
    ...runsApi(ctx),
  };

  return {
    api,
    events,
    runs,
    training,
    tasks,
    db,
    dataDir,
    recoveredRuns,
    close() {
      tasks.cancelAll();
      modelServer.stop();
      training.shutdown();
      if (db.open) db.close();
    },
  };
}
