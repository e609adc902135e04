/**
 * A damaged run database (issue 12.8): a zero-length file with run folders, random page
 * corruption and header damage are noticed at start; the damaged file (and its -wal/-shm) is
 * kept aside untouched, the history is rebuilt from the run folders, and the user is told.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import { databasePath, openDatabase } from '../../src/main/store/database';
import { databaseDamage, METRICS_FILE } from '../../src/main/store/recovery';
import { RunRepository } from '../../src/main/store/runs';
import { runDir } from '../../src/main/paths';
import type { EvalMetrics } from '../../src/shared/types';
import { fakeLauncher } from '../helpers/fake-worker';

const dirs: string[] = [];
const apps: App[] = [];
afterEach(() => {
  for (const a of apps.splice(0)) a.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function open(dataDir: string): App {
  const app = createApp({ dataDir, host: 'cli', launcher: fakeLauncher().launcher, workerEntry: 'unused.js' });
  apps.push(app);
  return app;
}

const evalAt = (step: number, accuracy: number): EvalMetrics => ({
  step,
  epoch: step / 2,
  evalLoss: 1 - accuracy,
  accuracy,
  macroF1: accuracy - 0.05,
  perClass: [{ label: 'a', precision: accuracy, recall: accuracy, f1: accuracy, support: 2 }],
  confusion: [[1, 1], [0, 2]],
});

/** A data folder with a database holding three runs, and their folders as the service leaves them. */
function history(): { dataDir: string; ids: string[] } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-damaged-'));
  dirs.push(dataDir);
  const db = openDatabase(databasePath(dataDir));
  const runs = new RunRepository(db);
  const ids = ['20260102-030405-aaaaaa', '20260102-040506-bbbbbb', '20260102-050607-cccccc'];
  const statuses = ['completed', 'failed', 'running'] as const;
  ids.forEach((id, i) => {
    const config = { name: `run ${i}`, model: { source: 'bert-base-uncased', path: '/m' }, labels: ['a', 'b'], dataset: { fingerprint: 'fp', name: 'ag', trainCount: 8, evalCount: 4, path: null }, options: { bestMetric: 'accuracy' } };
    runs.create({ id, name: config.name, config, modelId: 'bert-base-uncased', datasetName: 'ag' });
    runs.setStatus(id, 'running');
    const dir = runDir(dataDir, id);
    fs.mkdirSync(path.join(dir, 'model'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    fs.writeFileSync(path.join(dir, 'model', 'config.json'), '{}');
    const steps = [1, 2, 3, 4].map((s) => ({ step: s, epoch: s / 2, loss: 2 - s / 10, learningRate: 1e-3, samplesPerSecond: 5 }));
    const evals = [evalAt(2, 0.5), evalAt(4, 0.75)];
    runs.addSteps(id, steps);
    for (const e of evals) runs.addEval(id, e);
    fs.writeFileSync(
      path.join(dir, METRICS_FILE),
      [...steps.map((metric) => ({ type: 'step', metric })), ...evals.map((metrics) => ({ type: 'eval', metrics }))].map((l) => JSON.stringify(l)).join('\n') + '\n',
    );
    const end = statuses[i] === 'running' ? '' : `2026-01-02T06:00:00.000Z ${statuses[i]}${statuses[i] === 'failed' ? ': out of patience' : ''}\n`;
    fs.writeFileSync(path.join(dir, 'train.log'), `2026-01-02T05:00:00.000Z starting\n${end}`);
    if (statuses[i] !== 'running') runs.setStatus(id, statuses[i]);
  });
  // Many rows, so that the file has interior b-tree pages to damage.
  runs.addSteps(ids[0]!, Array.from({ length: 3000 }, (_, s) => ({ step: 100 + s, epoch: 1, loss: 1, learningRate: 1e-3, samplesPerSecond: null })));
  db.close();
  return { dataDir, ids };
}

function expectRebuilt(app: App, dataDir: string, ids: string[]): void {
  const notice = app.startupNotices.find((n) => n.kind === 'database-rebuilt');
  expect(notice, 'a notice says what happened').toBeDefined();
  expect(notice!.message).toMatch(/damaged.*kept untouched.*rebuilt from the 3 run folders/);
  expect(fs.existsSync(notice!.path!)).toBe(true);
  expect(path.basename(notice!.path!)).toMatch(/^finetune\.db\.damaged-/);
  const list = app.runs.list();
  expect(list.map((r) => r.id).sort()).toEqual(ids.slice().sort());
  const byId = new Map(list.map((r) => [r.id, r]));
  expect(byId.get(ids[0]!)).toMatchObject({ name: 'run 0', status: 'completed', modelId: 'bert-base-uncased', datasetName: 'ag', bestAccuracy: 0.75 });
  expect(byId.get(ids[1]!)).toMatchObject({ status: 'failed', error: 'out of patience' });
  expect(byId.get(ids[2]!)!.status).toBe('interrupted');
  const detail = app.runs.get(ids[0]!)!;
  expect(detail.steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
  expect(detail.evals.map((e) => e.accuracy)).toEqual([0.5, 0.75]);
  expect(detail.artifacts.map((a) => a.kind).sort()).toEqual(['log', 'model']);
  expect(app.db.pragma('quick_check', { simple: true })).toBe('ok');
}

describe('a damaged run database', () => {
  it('a healthy database is opened as it is', () => {
    const { dataDir, ids } = history();
    const app = open(dataDir);
    expect(app.startupNotices.filter((n) => n.kind === 'database-rebuilt')).toEqual([]);
    expect(app.runs.list()).toHaveLength(ids.length);
    expect(app.runs.steps(ids[0]!).length).toBe(3004);
  });

  it('a zero-length finetune.db with run folders is damage: the history is rebuilt, not silently empty', () => {
    const { dataDir, ids } = history();
    fs.writeFileSync(databasePath(dataDir), '');
    fs.rmSync(databasePath(dataDir) + '-wal', { force: true });
    expect(databaseDamage(databasePath(dataDir), dataDir)).toMatch(/empty/);
    expectRebuilt(open(dataDir), dataDir, ids);
  });

  it('a zero-length finetune.db without run folders is a new database', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-damaged-'));
    dirs.push(dataDir);
    fs.writeFileSync(databasePath(dataDir), '');
    expect(databaseDamage(databasePath(dataDir), dataDir)).toBeNull();
    expect(open(dataDir).startupNotices).toEqual([]);
  });

  it('random corruption inside the file is found by quick_check at start; the damaged bytes are kept as they were', () => {
    const { dataDir, ids } = history();
    const file = databasePath(dataDir);
    const bytes = fs.readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    // Overwrite interior pages (not page 1, the header) with pseudo-random bytes (fixed, so the test is repeatable).
    for (let page = 2; page < Math.min(8, bytes.length / pageSize); page++) {
      const noise = crypto.createHash('sha512').update(String(page)).digest();
      for (let i = 0; i < pageSize; i++) bytes[page * pageSize + i] = noise[i % noise.length]! ^ (i & 0xff);
    }
    fs.writeFileSync(file, bytes);
    expect(databaseDamage(file, dataDir)).not.toBeNull();
    const app = open(dataDir);
    expectRebuilt(app, dataDir, ids);
    const aside = app.startupNotices.find((n) => n.kind === 'database-rebuilt')!.path!;
    expect(fs.readFileSync(aside).equals(bytes)).toBe(true);
  });

  it('header damage ("file is not a database") is noticed, kept aside with its -wal, and rebuilt', () => {
    const { dataDir, ids } = history();
    const file = databasePath(dataDir);
    const bytes = fs.readFileSync(file);
    bytes.write('Not a database!!', 0, 'latin1');
    fs.writeFileSync(file, bytes);
    fs.writeFileSync(file + '-wal', 'wal bytes');
    expect(databaseDamage(file, dataDir)).toMatch(/not a database/i);
    const app = open(dataDir);
    expectRebuilt(app, dataDir, ids);
    const aside = app.startupNotices.find((n) => n.kind === 'database-rebuilt')!.path!;
    expect(fs.readFileSync(aside + '-wal', 'utf8')).toBe('wal bytes');
  });

  it('systemInfo carries the notice for the UI', async () => {
    const { dataDir } = history();
    fs.writeFileSync(databasePath(dataDir), '');
    const info = await open(dataDir).api.systemInfo();
    expect(info.startupNotices.map((n) => n.kind)).toContain('database-rebuilt');
  });
});
