/**
 * `finetune baseline` as a real process (build first): from a file and from a prepared dataset
 * id, with --json and --export; `finetune predict --baseline` with the exported JSON; and
 * `finetune train`'s summary beside the baseline.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, requireBuild } from '../helpers/app';
import { fixtureDir } from '../helpers/reference';

let home: string;
let work: string;
beforeAll(() => {
  requireBuild();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-cli-baseline-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-cli-baseline-files-'));
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

function finetune(args: string[]) {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, FINETUNE_HOME: home, FINETUNE_BACKEND: 'cpu' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trim().split('\n').filter(Boolean) };
}

const WORDS: Record<string, string[]> = {
  sport: ['goal', 'match', 'team', 'coach', 'league', 'striker'],
  tech: ['software', 'chip', 'laptop', 'server', 'browser', 'cloud'],
  food: ['recipe', 'pasta', 'oven', 'spice', 'dessert', 'soup'],
};

/** Each text: two keywords of its class and a row number. */
function easyCsv(rows: number): string {
  const labels = Object.keys(WORDS);
  const lines = ['text,label'];
  for (let i = 0; i < rows; i++) {
    const label = labels[i % 3]!;
    const w = WORDS[label]!;
    lines.push(`the ${w[i % 6]} and the ${w[(i * 7 + 1) % 6]} story ${i},${label}`);
  }
  const file = path.join(work, 'easy.csv');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('finetune baseline', () => {
  it('prepares a file, prints the scores as JSON, exports the model; a dataset id gives the same; predict --baseline uses it', () => {
    const file = easyCsv(150);
    const exported = path.join(work, 'kw.json');
    const r = finetune(['baseline', file, '--val-split', '0.2', '--export', exported, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.lines.at(-1)!) as { dataset_id: string; accuracy: number; macro_f1: number; eval_rows: number; train_rows: number; per_class: { label: string; f1: number }[]; exported: string };
    expect(out.accuracy).toBeGreaterThan(0.95);
    expect(out.macro_f1).toBeGreaterThan(0.95);
    expect(out.train_rows + out.eval_rows).toBe(150);
    expect(out.per_class.map((c) => c.label).sort()).toEqual(['food', 'sport', 'tech']);
    expect(out.exported).toBe(exported);
    expect(JSON.parse(fs.readFileSync(exported, 'utf8'))).toMatchObject({ format: 'finetune-studio/keyword-baseline', labels: expect.arrayContaining(['sport']) });

    const byId = finetune(['baseline', out.dataset_id]);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toContain(`accuracy ${(out.accuracy * 100).toFixed(1)} %`);
    expect(byId.lines.some((l) => /^\s+sport\s+[\d.]+ %\s+[\d.]+ %\s+[\d.]+ %\s+\d+$/.test(l))).toBe(true);

    const p = finetune(['predict', '--baseline', exported, '--text', 'the striker scored a goal', '--text', 'a new laptop chip', '--json']);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(p.lines.map((l) => (JSON.parse(l) as { label: string }).label)).toEqual(['sport', 'tech']);
  });

  it('refuses what it cannot read, naming it', () => {
    const missing = finetune(['predict', '--baseline', path.join(work, 'nope.json'), '--text', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.json');
    const noDataset = finetune(['baseline', 'f'.repeat(64)]);
    expect(noDataset.code).toBe(1);
    expect(noDataset.stderr).toMatch(/^finetune baseline: /);
  });

  it("train's summary puts the model beside the keyword baseline", () => {
    const file = easyCsv(60);
    const r = finetune(['train', '--model', fixtureDir('bert'), '--train', file, '--val-split', '0.25', '--epochs', '1', '--batch-size', '8', '--max-length', '16']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Your model [\d.]+ % vs keyword baseline [\d.]+ % \(keyword baseline macro-F1 [\d.]+ %\)\./);
    const j = finetune(['train', '--model', fixtureDir('bert'), '--train', file, '--val-split', '0.25', '--epochs', '1', '--batch-size', '8', '--max-length', '16', '--json']);
    const end = JSON.parse(j.lines.at(-1)!) as { baseline_accuracy: number | null };
    expect(end.baseline_accuracy).toBeGreaterThan(0.9);
  });
});
