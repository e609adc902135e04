/**
 * The training job names the prepared dataset instead of carrying its rows: the engine worker
 * reads them from <dataDir>/datasets/<id>/ and checks them against the fingerprint.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/main/app';
import { prepareDataset, preparedDatasetDir } from '../../src/main/data';
import type { ParentMessage } from '../../src/main/engine/protocol';
import type { PreparedDataset } from '../../src/shared/dataset';
import { RECOMMENDED_OPTIONS, type RunConfig } from '../../src/shared/run-config';
import { fakeLauncher } from '../helpers/fake-worker';
import { fixtureDir } from '../helpers/reference';
import { agNewsSample, testApp, type TestApp } from '../helpers/app';

const MAPPING = { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' } };
const HEAVY_TIMEOUT_MS = 180_000;

let t: TestApp;
let prepared: PreparedDataset;

beforeAll(async () => {
  t = testApp({ env: { FINETUNE_BACKEND: 'cpu' } });
  const csv = agNewsSample(t.dataDir, 40);
  prepared = await prepareDataset({ file: csv, mapping: MAPPING, split: { kind: 'ratio', evalRatio: 0.25, seed: 1 } }, t.dataDir);
});
afterAll(() => t.cleanup());

function config(name: string, dataDir: string, ds: PreparedDataset): RunConfig {
  return {
    name,
    model: { source: 'bert fixture', path: fixtureDir('bert') },
    labels: ds.labels,
    dataset: { fingerprint: ds.id, name: ds.name, trainCount: ds.trainCount, evalCount: ds.evalCount, path: preparedDatasetDir(dataDir, ds.id) },
    options: { ...RECOMMENDED_OPTIONS, epochs: 1, batchSize: 8, learningRate: 1e-3, maxLength: 32, evalBatchSize: 32 },
  };
}

describe('training job and the prepared dataset', () => {
  it('the job sent to the worker names the dataset and carries no rows', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-job-'));
    const fake = fakeLauncher();
    const sent: ParentMessage[] = [];
    const launcher: typeof fake.launcher = (entry, env) => {
      const w = fake.launcher(entry, env);
      w.send = (m) => sent.push(m);
      return w;
    };
    const app = createApp({ dataDir, host: 'cli', launcher, workerEntry: 'unused.js' });
    try {
      const ds = await prepareDataset({ file: agNewsSample(dataDir, 40), mapping: MAPPING, split: { kind: 'ratio', evalRatio: 0.25, seed: 1 } }, dataDir);
      await app.training.start(config('fake', dataDir, ds));
      fake.workers[0]!.emit({ type: 'ready', pid: 1 });
      const start = sent.find((m) => m.type === 'start');
      expect(start).toBeDefined();
      const job = (start as Extract<ParentMessage, { type: 'start' }>).job;
      expect(job.kind).toBe('train');
      expect(job).toMatchObject({ dataset: { dataDir, id: ds.id } });
      expect(job).not.toHaveProperty('train');
      expect(job).not.toHaveProperty('eval');
      // Nothing near the size of the rows crosses the boundary.
      expect(JSON.stringify(job).length).toBeLessThan(4000);
    } finally {
      app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the worker reads the prepared dataset (a phase says so) and trains on it', { timeout: HEAVY_TIMEOUT_MS }, async () => {
    const phases: string[] = [];
    const off = t.app.events.on('run-phase', (e) => phases.push(e.message));
    try {
      const started = await t.app.training.start(config('reads', t.dataDir, prepared));
      const done = await t.app.training.wait(started.id);
      expect(done.status).toBe('completed');
    } finally {
      off();
    }
    expect(phases).toContain('Reading the prepared dataset');
    // Before tokenising: the rows came from the prepared copy.
    expect(phases.indexOf('Reading the prepared dataset')).toBeLessThan(phases.findIndex((m) => m.startsWith('Tokenising')));
  });

  it('a prepared file changed on disk is refused with a clear message', { timeout: HEAVY_TIMEOUT_MS }, async () => {
    const csv = agNewsSample(t.dataDir, 48);
    const ds = await prepareDataset({ file: csv, mapping: MAPPING, split: { kind: 'ratio', evalRatio: 0.25, seed: 2 } }, t.dataDir);
    const trainFile = path.join(preparedDatasetDir(t.dataDir, ds.id), 'train.jsonl');
    const text = fs.readFileSync(trainFile, 'utf8');
    // Same shape, one letter changed: only the hash can tell.
    const i = text.indexOf('"text":"') + 8;
    fs.writeFileSync(trainFile, text.slice(0, i) + (text[i] === 'X' ? 'Y' : 'X') + text.slice(i + 1));
    const started = await t.app.training.start(config('tampered', t.dataDir, ds));
    const done = await t.app.training.wait(started.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/train\.jsonl was changed on disk after it was prepared; prepare the dataset again/);
  });
});
