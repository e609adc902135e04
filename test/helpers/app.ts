/** A createApp() in a fresh data folder, using the built worker (npm test builds first). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/main/app';
import { forkLauncher, type WorkerHandle, type WorkerLauncher } from '../../src/main/training/launcher';

export const REPO_DIR = path.resolve(__dirname, '../..');
export const WORKER_ENTRY = path.join(REPO_DIR, 'out/main/trainer.js');
export const DATA_WORKER_ENTRY = path.join(REPO_DIR, 'out/main/data-worker.js');
export const CLI_BIN = path.join(REPO_DIR, 'bin/finetune.js');

export function requireBuild(): void {
  for (const entry of [WORKER_ENTRY, DATA_WORKER_ENTRY]) {
    if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" before these tests (npm test does).`);
  }
}

export interface TestApp {
  app: App;
  dataDir: string;
  workers: WorkerHandle[];
  cleanup(): void;
}

export function testApp(options: { env?: NodeJS.ProcessEnv; host?: 'cli' | 'web' } = {}): TestApp {
  requireBuild();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-app-'));
  const workers: WorkerHandle[] = [];
  const launcher: WorkerLauncher = (entry, env) => {
    const w = forkLauncher(entry, { ...env, ...options.env });
    workers.push(w);
    return w;
  };
  const app = createApp({ dataDir, host: options.host ?? 'cli', launcher, workerEntry: WORKER_ENTRY, dataWorkerEntry: DATA_WORKER_ENTRY });
  return {
    app,
    dataDir,
    workers,
    cleanup() {
      app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A small AG News CSV (no header: class, title, description) in a temp folder. */
export function agNewsSample(dir: string, rows: number, file = 'train_5k.csv'): string {
  const src = path.join(REPO_DIR, '../shared/datasets/ag_news', file);
  const lines = fs.readFileSync(src, 'utf8').split('\n').slice(0, rows);
  const out = path.join(dir, `ag-${rows}-${file}`);
  fs.writeFileSync(out, lines.join('\n') + '\n');
  // The label names travel with the file, as in the AG News folder.
  fs.copyFileSync(path.join(path.dirname(src), 'classes.txt'), path.join(dir, 'classes.txt'));
  return out;
}
