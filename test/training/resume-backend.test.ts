/**
 * A resumed run trains on the backend it started on: a checkpoint continued on another backend
 * (cpu, then native, say) would no longer give the same losses as an uninterrupted run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import type { EngineJob } from '../../src/main/engine/protocol';
import { preparedDatasetDir } from '../../src/main/data';
import { RECOMMENDED_OPTIONS, type RunConfig } from '../../src/shared/run-config';
import type { PreparedDataset } from '../../src/shared/dataset';
import type { BackendName } from '../../src/shared/types';
import { fixtureDir } from '../helpers/reference';
import { fakeLauncher, type FakeWorker } from '../helpers/fake-worker';
import { prepareAgNews } from '../export/helpers';

let dataDir: string;
let app: App;
let workers: FakeWorker[];
let prepared: PreparedDataset;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-resume-backend-'));
  const fake = fakeLauncher();
  workers = fake.workers;
  app = createApp({ dataDir, host: 'cli', launcher: fake.launcher, workerEntry: 'unused.js' });
  prepared = await prepareAgNews(dataDir, 40);
});
afterAll(() => {
  app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function config(name: string): RunConfig {
  return {
    name,
    model: { source: 'bert fixture', path: fixtureDir('bert') },
    labels: prepared.labels,
    dataset: { fingerprint: prepared.id, name: prepared.name, trainCount: prepared.trainCount, evalCount: prepared.evalCount, path: preparedDatasetDir(dataDir, prepared.id) },
    options: { ...RECOMMENDED_OPTIONS, epochs: 1, batchSize: 8, maxLength: 32 },
  };
}

/** The job the parent hands the worker once it says it is ready. */
function jobOf(worker: FakeWorker): EngineJob {
  worker.emit({ type: 'ready', pid: 1 });
  const start = worker.sent.find((m) => m.type === 'start');
  if (!start || start.type !== 'start') throw new Error('the parent sent no start message');
  return start.job;
}

/** Starts a run, lets the (fake) worker report `ran` as its backend, then kills it. */
async function killedRun(name: string, requested: BackendName | undefined, ran: BackendName): Promise<string> {
  const run = await app.training.start(config(name), requested ? { backend: requested } : {});
  const worker = workers.at(-1)!;
  expect(jobOf(worker).backend).toBe(requested);
  worker.emit({ type: 'backend', backend: { name: ran, label: ran, detail: 'test' } });
  worker.exit(null, 'SIGKILL');
  const end = await app.training.wait(run.id);
  expect(end).toMatchObject({ status: 'failed', backend: ran });
  return run.id;
}

describe('resume keeps the backend', () => {
  it('a run started on cpu by request resumes on cpu', async () => {
    const id = await killedRun('asked for cpu', 'cpu', 'cpu');
    await app.training.resume(id);
    const job = jobOf(workers.at(-1)!);
    expect(job).toMatchObject({ resume: true, backend: 'cpu' });
    workers.at(-1)!.exit(null, 'SIGKILL');
    await app.training.wait(id);
  });

  it('a run whose backend was chosen automatically resumes on the one it ran on, not on a new choice', async () => {
    const id = await killedRun('auto', undefined, 'wasm');
    await app.training.resume(id);
    expect(jobOf(workers.at(-1)!)).toMatchObject({ resume: true, backend: 'wasm' });
    workers.at(-1)!.exit(null, 'SIGKILL');
    await app.training.wait(id);
  });

  it('a run killed before its worker named a backend resumes with the automatic choice', async () => {
    const run = await app.training.start(config('no backend yet'));
    workers.at(-1)!.exit(null, 'SIGKILL');
    await app.training.wait(run.id);
    await app.training.resume(run.id);
    expect(jobOf(workers.at(-1)!).backend).toBeUndefined();
    workers.at(-1)!.exit(null, 'SIGKILL');
    await app.training.wait(run.id);
  });
});
