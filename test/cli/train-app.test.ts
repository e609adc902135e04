/**
 * `finetune train` as a transport over the AppApi, run as a real process (build first):
 * the doctor's fixes give the same prepared rows as the app's prepareDataset, --backend is a typed
 * option, column names match in any case, a run that learned nothing says so with the flags to
 * try, and eval/predict never open the database.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetCleaning, SplitSpec } from '../../src/shared/dataset';
import { CLI_BIN, requireBuild, testApp } from '../helpers/app';
import { fixtureDir } from '../helpers/reference';
import { useHeavyTimeouts } from '../engine/timeouts';

// Each test runs the real CLI, which trains: minutes on a busy machine.
useHeavyTimeouts();

let home: string;
let work: string;
beforeAll(() => {
  requireBuild();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-cli-app-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-cli-files-'));
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

function finetune(args: string[], env: NodeJS.ProcessEnv = {}, dataHome = home) {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, FINETUNE_HOME: dataHome, FINETUNE_BACKEND: 'cpu', ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trim().split('\n').filter(Boolean) };
}

const WORDS = ['market', 'goal', 'river', 'engine', 'music', 'garden', 'planet', 'coffee', 'window', 'season', 'ticket', 'forest'];

/** A CSV with a header in mixed case, duplicates and conflicting labels. */
function messyCsv(): string {
  const lines = ['Headline,Topic'];
  for (let i = 0; i < 40; i++) lines.push(`${WORDS[i % 12]} ${WORDS[(i * 5) % 12]} story ${i},${i % 2 ? 'sports' : 'business'}`);
  for (let i = 0; i < 6; i++) lines.push(`${WORDS[i % 12]} ${WORDS[(i * 5) % 12]} story ${i},${i % 2 ? 'sports' : 'business'}`); // duplicates
  for (let i = 6; i < 10; i++) lines.push(`${WORDS[i % 12]} ${WORDS[(i * 5) % 12]} story ${i},${i % 2 ? 'business' : 'sports'}`); // conflicts
  const file = path.join(work, 'messy.csv');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('finetune train through the AppApi', () => {
  it('the doctor fixes give the rows the app prepares (same dataset id); --backend and any-case column names work', async () => {
    const file = messyCsv();
    const common = ['train', '--model', fixtureDir('bert'), '--train', file, '--val-split', '0.25', '--epochs', '1', '--batch-size', '8', '--max-length', '16', '--json'];
    // --text-column HEADLINE: the header says "Headline" (data doctor and train share the rule).
    const r = finetune([...common, '--text-column', 'HEADLINE', '--label-column', 'topic', '--drop-duplicates', '--drop-conflicting', '--backend', 'cpu'], { FINETUNE_BACKEND: '' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const start = events[0]!;
    const end = events.at(-1)!;
    expect(end).toMatchObject({ event: 'end', status: 'completed', backend: 'cpu' });
    expect(typeof end.learned).toBe('boolean');

    const t = testApp();
    try {
      const inspection = await t.app.api.inspectDataset(file);
      const mapping = { textColumns: [0], textSeparator: ' ', labelColumn: 1, parse: inspection.parse };
      const split: SplitSpec = { kind: 'ratio', evalRatio: 0.25, seed: 42 };
      const prepare = (cleaning: DatasetCleaning) => t.app.api.prepareDataset({ file, mapping, split, cleaning });
      const fixed = await prepare({ dropDuplicates: true, dropConflicting: true });
      expect(start).toMatchObject({ event: 'start', dataset_id: fixed.id, train_rows: fixed.trainCount, eval_rows: fixed.evalCount });
      const raw = await prepare({});
      expect(raw.trainCount + raw.evalCount).toBe(50);
      expect(fixed.trainCount + fixed.evalCount).toBeLessThan(raw.trainCount + raw.evalCount);
    } finally {
      t.cleanup();
    }

    // The same file without the fixes: the app's raw rows, a different dataset.
    const plain = finetune([...common, '--text-column', 'headline', '--label-column', '2']);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.lines[0]!)).toMatchObject({ train_rows: expect.any(Number) });
    expect(JSON.parse(plain.lines[0]!).dataset_id).not.toBe(start.dataset_id);

    const badColumn = finetune([...common, '--text-column', 'Title']);
    expect(badColumn.code).toBe(2);
    expect(badColumn.stderr).toBe('finetune train: --text-column "Title": no such column; the columns are 1 "Headline", 2 "Topic"\n');
  });

  it('a typo in a flag gets "did you mean", an unknown command too; exit 2, one line', () => {
    const r = finetune(['train', '--model', fixtureDir('bert'), '--train', 'x.csv', '--epoch', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('finetune train: unknown option --epoch; did you mean --epochs?\n');
    const c = finetune(['trian']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^finetune: unknown command "trian"; did you mean train\?/);
    const b = finetune(['train', '--model', fixtureDir('bert'), '--train', 'x.csv', '--backend', 'gpu']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^finetune train: --backend: "gpu" is not one of /);
  });

  it('a random model at lr 2e-5 for one epoch has not learned: the summary says so with the flags to try', () => {
    const lines = ['text,label'];
    // Imbalanced (4:1) and the words say nothing about the label: nothing to learn at this rate.
    for (let i = 0; i < 100; i++) lines.push(`${WORDS[(i * 7) % 12]} ${WORDS[(i * 3) % 12]} ${WORDS[i % 12]},${i % 5 === 0 ? 'rare' : 'common'}`);
    const file = path.join(work, 'imbalanced.csv');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const r = finetune(['train', '--model', fixtureDir('bert'), '--train', file, '--lr', '2e-5', '--epochs', '1', '--batch-size', '16', '--max-length', '16', '--val-split', '0.2', '--text-column', 'text', '--label-column', 'label']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/The model has not learned: its accuracy \([\d.]+ %\) is no better than always answering the most common label \(80\.0 %\)/);
    expect(r.stdout).toMatch(/^the model has not learned; try --lr 2e-5 --epochs 3$/m);
  });

  it('eval and predict with a model folder do not open the database', () => {
    const fresh = path.join(work, 'fresh-home');
    const p = finetune(['predict', '--model', fixtureDir('bert'), '--text', 'a river story', '--json'], {}, fresh);
    expect(p.code).toBe(0);
    const csv = path.join(work, 'eval.csv');
    fs.writeFileSync(csv, 'text,label\nriver story,World\nmarket goal,Sports\n');
    const e = finetune(['eval', '--model', fixtureDir('bert'), '--data', csv, '--text-column', 'TEXT', '--label-column', '2', '--json'], {}, fresh);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).rows).toBe(2);
    expect(fs.existsSync(path.join(fresh, 'finetune.db'))).toBe(false);
  });
});
