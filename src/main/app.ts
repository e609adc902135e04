/**
 * createApp(): the AppApi implementation in plain Node. Electron IPC, the web host and the CLI
 * each wrap the same instance; none of this imports electron. Each area of the API lives in
 * src/main/features and calls the room that does the work (data, hub, engine via the worker,
 * store, export).
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { AppApi } from '../shared/api';
import type { StartupNotice, SystemInfo, WebGpuStatus } from '../shared/types';
import { formatBytes, plural } from '../shared/format';
import { DataWorkerPool } from './data/worker-pool';
import { AppEventBus } from './events';
import type { AppContext, HostCapabilities } from './features/context';
import { baselineApi, baselineLookup } from './features/baseline';
import { datasetsApi } from './features/datasets';
import { modelsApi } from './features/models';
import { runsApi } from './features/runs';
import { systemApi } from './features/system';
import { newInstanceId, ownerAlive, registerInstance, unregisterInstance } from './store/ownership';
import { markCleanClose, openRunDatabase } from './store/recovery';
import { RunRepository } from './store/runs';
import { sweepRunFolders } from './training/housekeeping';
import { TaskRegistry } from './tasks';
import { ModelServer } from './training/jobs';
import { defaultDataWorkerEntry, defaultWorkerEntry, forkLauncher, type WorkerLauncher } from './training/launcher';
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
  /** The data worker thread bundle (default: data-worker.js beside this bundle). */
  dataWorkerEntry?: string;
  /** Dialogs and shell access of the host (Electron); absent ones answer 'unsupported'. */
  capabilities?: HostCapabilities;
  /**
   * systemInfo's WebGPU query, in place of Dawn in an engine worker: Electron's main asks its
   * engine window (Chromium's navigator.gpu), since Dawn cannot run in the utility process.
   */
  webGpuProbe?: () => Promise<WebGpuStatus>;
}

export interface App {
  api: AppApi;
  events: AppEventBus;
  runs: RunRepository;
  training: TrainingService;
  tasks: TaskRegistry;
  db: Database.Database;
  dataDir: string;
  /** How many runs were found `running` at start, with their owner gone, and marked interrupted. */
  recoveredRuns: number;
  /** What was repaired or cleaned at start (also in systemInfo().startupNotices). */
  startupNotices: StartupNotice[];
  close(): void;
}

export function createApp(options: AppOptions): App {
  const { dataDir } = options;
  fs.mkdirSync(dataDir, { recursive: true });
  // A damaged database is kept aside and the history rebuilt from the run folders.
  const { db, notices: startupNotices } = openRunDatabase(dataDir, { nativeBinding: options.sqliteBinding });
  const instance = newInstanceId();
  registerInstance(instance);
  const runs = new RunRepository(db, { instance, baselineOf: baselineLookup(dataDir) });
  const events = new AppEventBus();
  const tasks = new TaskRegistry(events);
  // Only runs whose owning process is gone: another live process may be training the others.
  const recovered = runs.recoverOrphans(ownerAlive);
  const recoveredRuns = recovered.length;
  if (recoveredRuns > 0) {
    startupNotices.push({
      kind: 'runs-recovered',
      message: `${plural(recoveredRuns, 'run')} left running when the app or the command stopped ${recoveredRuns === 1 ? 'is' : 'are'} now marked interrupted; resume to continue from the last checkpoint.`,
    });
  }
  // Temp folders of killed trainers and model swaps cut between two renames, in runs no live
  // process trains.
  // Only the owned runs' ids are read (an index holds them), not every run's summary.
  const busy = new Set(runs.ownedRunIds());
  const swept = sweepRunFolders(dataDir, (id) => busy.has(id));
  if (swept.removed.length > 0) {
    startupNotices.push({ kind: 'temp-files-removed', message: `Removed ${plural(swept.removed.length, 'temporary file')} left by stopped trainers (${formatBytes(swept.bytes)}).` });
  }
  for (const id of swept.restoredModels) {
    startupNotices.push({ kind: 'model-restored', message: `Run ${id}: its best model was being replaced when the trainer stopped; the complete model was put back in place.` });
  }
  const workers = { launcher: options.launcher ?? forkLauncher, workerEntry: options.workerEntry ?? defaultWorkerEntry() };
  const training = new TrainingService({
    dataDir,
    runs,
    events,
    ...workers,
    host: options.host,
  });
  const modelServer = new ModelServer(workers);
  const dataPool = new DataWorkerPool({ entry: options.dataWorkerEntry ?? defaultDataWorkerEntry() });
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
    dataPool,
    capabilities: options.capabilities ?? {},
    webGpuProbe: options.webGpuProbe ?? null,
    startupNotices,
  };

  const api: AppApi = {
    ...systemApi(ctx),
    ...datasetsApi(ctx),
    ...modelsApi(ctx),
    ...runsApi(ctx),
    ...baselineApi(ctx),
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
    startupNotices,
    close() {
      tasks.cancelAll();
      modelServer.stop();
      dataPool.close();
      training.shutdown();
      unregisterInstance(instance);
      if (db.open) {
        db.close();
        // A big database closed cleanly and left unchanged skips quick_check at the next start.
        markCleanClose(dataDir);
      }
    },
  };
}
