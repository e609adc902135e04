/**
 * createApp(): the AppApi implementation in plain Node. Electron IPC, the web host and the CLI
 * each wrap the same instance; none of this imports electron.
 */
import os from 'node:os';
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { AppApi } from '../shared/api';
import { AppError } from '../shared/errors';
import type { RunDetail, RunSummary, SystemInfo } from '../shared/types';
import { probeBackend } from './engine/backend';
import { loadPreparedDataset } from './data';
import { defaultWorkerEntry, forkLauncher, type WorkerLauncher } from './training/launcher';
import { TrainingService } from './training/service';
import { AppEventBus } from './events';
import { removeDirSafely } from './fsutil';
import { runDir } from './paths';
import { databasePath, openDatabase } from './store/database';
import { RunRepository } from './store/runs';
import { APP_VERSION } from './version';

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
}

export interface App {
  api: AppApi;
  events: AppEventBus;
  runs: RunRepository;
  training: TrainingService;
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
  const recoveredRuns = runs.recoverInterrupted();
  const training = new TrainingService({
    dataDir,
    runs,
    events,
    launcher: options.launcher ?? forkLauncher,
    workerEntry: options.workerEntry ?? defaultWorkerEntry(),
    loadRows: async (config) => {
      const loaded = await loadPreparedDataset(dataDir, config.dataset.fingerprint);
      return { train: loaded.train, eval: loaded.eval };
    },
  });

  const requireRun = (id: string): RunSummary => {
    const run = runs.summary(id);
    if (!run) throw new AppError('not_found', `There is no run "${id}". It may have been deleted; refresh the Runs page.`);
    return run;
  };

  const api: AppApi = {
    async systemInfo(): Promise<SystemInfo> {
      const cpus = os.cpus();
      return {
        appVersion: APP_VERSION,
        dataDir,
        host: options.host,
        backend: probeBackend(),
        cpuCount: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        totalMemoryBytes: os.totalmem(),
        freeMemoryBytes: os.freemem(),
        platform: process.platform,
        arch: process.arch,
        nodeVersion: process.versions.node,
        electronVersion: options.electronVersion ?? process.versions.electron ?? null,
      };
    },

    async listRuns(): Promise<RunSummary[]> {
      return runs.list();
    },

    async getRun(id: string): Promise<RunDetail> {
      const run = runs.get(id);
      if (!run) throw new AppError('not_found', `There is no run "${id}". It may have been deleted; refresh the Runs page.`);
      return run;
    },

    async renameRun(id: string, name: string): Promise<RunSummary> {
      requireRun(id);
      const run = runs.rename(id, name)!;
      events.emit('runs-changed', { reason: 'renamed', runId: id });
      return run;
    },

    async deleteRun(id: string): Promise<void> {
      const run = requireRun(id);
      if (run.status === 'running' || run.status === 'queued' || training.isActive(id)) {
        throw new AppError('conflict', `Run "${run.name}" is ${run.status}. Cancel it first, then delete it.`);
      }
      try {
        removeDirSafely(runDir(dataDir, id));
      } catch (err) {
        throw new AppError(
          'io',
          `Could not delete the files of run "${run.name}" (${(err as Error).message}). Close any program using them and try again; nothing was deleted.`,
        );
      }
      runs.delete(id);
      events.emit('runs-changed', { reason: 'deleted', runId: id });
    },
  };

  return {
    api,
    events,
    runs,
    training,
    db,
    dataDir,
    recoveredRuns,
    close() {
      training.shutdown();
      if (db.open) db.close();
    },
  };
}
