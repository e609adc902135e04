/**
 * The keyword baseline through the AppApi and the built worker: prepareDataset computes it (phase
 * 'keyword baseline'), a cancel leaves the dataset prepared without it, computeBaseline fills it
 * in later, and runs on the dataset show its scores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../helpers/app';
import { loadBaseline, predictBaseline } from '../../src/main/engine/baseline';
import type { PrepareRequest } from '../../src/shared/dataset';
import type { TaskProgressEvent } from '../../src/shared/api';

let t: TestApp;
let tmp: string;
beforeAll(() => {
  t = testApp();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-baseline-'));
});
afterAll(() => {
  t?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const WORDS: Record<string, string[]> = {
  sport: ['goal', 'match', 'team', 'coach', 'league', 'striker', 'referee', 'season'],
  tech: ['software', 'chip', 'laptop', 'server', 'browser', 'startup', 'code', 'cloud'],
  food: ['recipe', 'pasta', 'oven', 'spice', 'dessert', 'chef', 'soup', 'bread'],
};
const FILLER = ['the', 'a', 'today', 'new', 'big', 'about', 'with', 'this', 'after', 'report'];

/** An easy synthetic set: each text holds two keywords of its class among filler words. */
function easyCsv(name: string, rows: number, seed: number): string {
  let s = seed;
  const rand = (n: number): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const labels = Object.keys(WORDS);
  const lines = ['text,label'];
  for (let i = 0; i < rows; i++) {
    const label = labels[i % labels.length]!;
    const words = [WORDS[label]![rand(8)], WORDS[label]![rand(8)], ...Array.from({ length: 4 }, () => FILLER[rand(FILLER.length)])];
    words.sort(() => rand(3) - 1);
    lines.push(`${words.join(' ')} ${i},${label}`);
  }
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function request(file: string): Promise<PrepareRequest> {
  const inspection = await t.app.api.inspectDataset(file);
  return { file, mapping: inspection.suggestedMapping!, split: { kind: 'ratio', evalRatio: 0.25, seed: 7 } };
}

describe('keyword baseline (app + worker)', () => {
  it('prepareDataset computes it in the same task; runs on the dataset show it', async () => {
    const phases = new Set<string>();
    const off = t.app.events.on('task-progress', (e: TaskProgressEvent) => {
      if (e.taskId === 'prep-1') phases.add(e.phase);
    });
    const ds = await t.app.api.prepareDataset(await request(easyCsv('easy.csv', 240, 1)), 'prep-1');
    off();
    expect(phases).toContain('keyword baseline');
    expect(ds.baseline).not.toBeNull();
    const b = ds.baseline!;
    expect(b.accuracy).toBeGreaterThan(0.95);
    expect(b.macroF1).toBeGreaterThan(0.95);
    expect(b.trainRows).toBe(ds.trainCount);
    expect(b.evalRows).toBe(ds.evalCount);
    expect(b.perClass.map((c) => c.label).sort()).toEqual([...ds.labels].sort());
    expect(b.confusion.flat().reduce((a, x) => a + x, 0)).toBe(ds.evalCount);
    expect(b.features).toBeGreaterThan(24);
    expect(b.converged).toBe(true);

    // The files beside meta.json: the report is read back with the dataset; the model loads and predicts.
    const dir = path.join(t.dataDir, 'datasets', ds.id);
    expect((await t.app.api.getDataset(ds.id)).baseline).toEqual(b);
    const model = loadBaseline(fs.readFileSync(path.join(dir, 'baseline.json'), 'utf8'));
    const [probs] = predictBaseline(model, ['the striker scored a goal for the team']);
    expect(model.labels[probs!.indexOf(Math.max(...probs!))]).toBe('sport');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    t.app.runs.create({ id: 'run-b', name: 'On easy', config: {}, datasetFingerprint: ds.id, datasetName: ds.name, status: 'completed' });
    const run = (await t.app.api.listRuns()).find((r) => r.id === 'run-b')!;
    expect(run.baselineAccuracy).toBe(b.accuracy);
    expect(run.baselineMacroF1).toBe(b.macroF1);
    expect((await t.app.api.getRun('run-b')).baselineAccuracy).toBe(b.accuracy);
  });

  it('a cancel during the baseline leaves the dataset prepared without it; computeBaseline adds it later', async () => {
    const off = t.app.events.on('task-progress', (e: TaskProgressEvent) => {
      if (e.taskId === 'prep-2' && e.phase === 'keyword baseline') void t.app.api.cancelTask('prep-2');
    });
    const ds = await t.app.api.prepareDataset(await request(easyCsv('easy-2.csv', 200, 2)), 'prep-2');
    off();
    expect(ds.baseline).toBeNull();
    expect(ds.warnings.some((w) => w.includes('keyword baseline'))).toBe(true);
    const dir = path.join(t.dataDir, 'datasets', ds.id);
    expect(fs.existsSync(path.join(dir, 'meta.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'baseline-report.json'))).toBe(false);
    expect((await t.app.api.getDataset(ds.id)).baseline).toBeNull();

    // Cancelling computeBaseline itself fails it with 'cancelled'.
    const off2 = t.app.events.on('task-progress', (e: TaskProgressEvent) => {
      if (e.taskId === 'base-1') void t.app.api.cancelTask('base-1');
    });
    await expect(t.app.api.computeBaseline(ds.id, 'base-1')).rejects.toMatchObject({ code: 'cancelled' });
    off2();

    const summary = await t.app.api.computeBaseline(ds.id);
    expect(summary.accuracy).toBeGreaterThan(0.95);
    expect((await t.app.api.getDataset(ds.id)).baseline).toEqual(summary);
  });

  it('computeBaseline names a dataset that does not exist', async () => {
    await expect(t.app.api.computeBaseline('0'.repeat(64))).rejects.toMatchObject({ code: 'not_found' });
  });
});
