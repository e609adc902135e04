/** The data doctor on crafted inputs: each finding, its rows, class weights and token lengths. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/shared/dataset';
import { balanceOf, doctorDataset, prepareDataset, tokenLengthReport, type DoctorRow } from '../../src/main/data';
import { loadTokenizer } from '../../src/main/engine/tokenizer';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-doctor-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const rows = (spec: [string, string | null][]): DoctorRow[] => spec.map(([text, label], i) => ({ text, label, line: i + 2 }));
const ids = (r: DoctorReport, severity?: string): string[] => r.findings.filter((f) => !severity || f.severity === severity).map((f) => f.id);
const finding = (r: DoctorReport, id: string) => r.findings.find((f) => f.id === id)!;

function balanced(n: number, labels = ['a', 'b']): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < n; i++) out.push([`text number ${i}`, labels[i % labels.length]!]);
  return out;
}

describe('data doctor', () => {
  it('finds nothing wrong with a clean balanced set', async () => {
    const r = await doctorDataset({ kind: 'rows', train: rows(balanced(40)) });
    expect(r.findings).toEqual([]);
    expect(r.blocking).toBe(false);
    expect(r.trainCount).toBe(40);
    expect(r.classBalance).toMatchObject({ imbalanced: false, suggestedClassWeights: null, imbalanceRatio: 1 });
  });

  it("suggests sklearn 'balanced' class weights n / (k * count) when imbalanced", async () => {
    const spec: [string, string][] = [];
    for (let i = 0; i < 90; i++) spec.push([`majority ${i}`, 'ham']);
    for (let i = 0; i < 10; i++) spec.push([`minority ${i}`, 'spam']);
    const r = await doctorDataset({ kind: 'rows', train: rows(spec) });
    expect(r.classBalance.imbalanced).toBe(true);
    expect(r.classBalance.imbalanceRatio).toBe(9);
    expect(r.classBalance.suggestedClassWeights).toEqual([100 / (2 * 90), 100 / (2 * 10)]);
    expect(r.classBalance.classes.map((c) => [c.label, c.train, c.share])).toEqual([
      ['ham', 90, 0.9],
      ['spam', 10, 0.1],
    ]);
    expect(finding(r, 'imbalance')).toMatchObject({ severity: 'warning', fix: { kind: 'class-weights' } });
    expect(finding(r, 'imbalance').detail).toContain('9.0 to 1');
    expect(balanceOf(['a', 'b', 'c'], [10, 20, 30], [0, 0, 0]).suggestedClassWeights).toEqual([2, 1, 60 / 90]);
  });

  it('reports exact duplicates, conflicting duplicates, empty texts and missing labels with their lines', async () => {
    const r = await doctorDataset({
      kind: 'rows',
      train: rows([
        ['alpha', 'x'], // line 2
        ['beta', 'y'], // 3
        ['alpha', 'x'], // 4 duplicate
        ['beta', 'x'], // 5 conflict
        ['  ', 'y'], // 6 empty text
        ['gamma', ''], // 7 missing label
        ['delta', null], // 8 missing label
        ['alpha', 'x'], // 9 duplicate
        ...balanced(20),
      ]),
    });
    expect(finding(r, 'duplicates')).toMatchObject({ affected: 2, rows: [4, 9], rowsIn: 'train', fix: { kind: 'drop-duplicates' } });
    expect(finding(r, 'conflicting-duplicates')).toMatchObject({ affected: 1, rows: [5], fix: { kind: 'drop-conflicting' } });
    expect(finding(r, 'conflicting-duplicates').detail).toContain('1 text appears with more than one label');
    expect(finding(r, 'empty-texts')).toMatchObject({ severity: 'warning', affected: 1, rows: [6] });
    expect(finding(r, 'missing-labels')).toMatchObject({ severity: 'warning', affected: 2, rows: [7, 8] });
    expect(r.blocking).toBe(false);
    expect(r.trainCount).toBe(28 - 3);
  });

  it('reports train/eval leakage with the evaluation rows, and classes missing from the evaluation', async () => {
    const r = await doctorDataset({
      kind: 'rows',
      train: rows(balanced(30, ['a', 'b', 'c'])),
      eval: rows([
        ['text number 0', 'a'],
        ['fresh one', 'a'],
        ['text number 4', 'b'],
      ]),
    });
    expect(finding(r, 'leakage')).toMatchObject({ affected: 2, rows: [2, 4], rowsIn: 'eval', fix: { kind: 'drop-leaked' } });
    expect(finding(r, 'eval-missing-classes').detail).toContain('"c"');
    expect(r.evalCount).toBe(3);
  });

  it('reports classes with fewer than the minimum examples', async () => {
    const spec = [...balanced(40), ['rare one', 'rare'], ['rare two', 'rare']] as [string, string][];
    const r = await doctorDataset({ kind: 'rows', train: rows(spec) }, { minClassSize: 5 });
    expect(finding(r, 'small-classes')).toMatchObject({ severity: 'warning', affected: 1 });
    expect(finding(r, 'small-classes').detail).toContain('"rare"');
    const relaxed = await doctorDataset({ kind: 'rows', train: rows(spec) }, { minClassSize: 2 });
    expect(ids(relaxed)).not.toContain('small-classes');
  });

  it('blocks on no rows, one class, no text, and a singleton class in a ratio split', async () => {
    expect(ids(await doctorDataset({ kind: 'rows', train: [] }), 'blocking')).toEqual(['no-rows']);
    const oneClass = await doctorDataset({ kind: 'rows', train: rows(balanced(10, ['only'])) });
    expect(ids(oneClass, 'blocking')).toEqual(['one-class']);
    expect(oneClass.blocking).toBe(true);
    expect(finding(oneClass, 'one-class').detail).toContain('"only"');
    const noText = await doctorDataset({ kind: 'rows', train: rows(balanced(10).map(([, l]) => ['', l])) });
    expect(ids(noText, 'blocking')).toEqual(['no-text-column']);
    expect(ids(noText)).not.toContain('empty-texts');
    const onlyMissing = await doctorDataset({ kind: 'rows', train: rows(balanced(10).map(([t]) => [t, ''])) });
    expect(ids(onlyMissing, 'blocking')).toEqual(['no-rows']);
    const singleton = await doctorDataset(
      { kind: 'rows', train: rows([...balanced(10), ['lonely', 'z']]) },
      { split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } },
    );
    expect(ids(singleton, 'blocking')).toEqual(['small-classes']);
    expect(finding(singleton, 'small-classes').detail).toContain('"z"');
    const evalOnly = await doctorDataset({ kind: 'rows', train: rows(balanced(10)), eval: rows([['new', 'c']]) });
    expect(ids(evalOnly, 'blocking')).toEqual(['eval-only-labels']);
  });

  it('shows what a ratio split will make of each class', async () => {
    const r = await doctorDataset({ kind: 'rows', train: rows(balanced(40)) }, { split: { kind: 'ratio', evalRatio: 0.25, seed: 1 } });
    expect(r.classBalance.classes.map((c) => [c.train, c.eval])).toEqual([
      [15, 5],
      [15, 5],
    ]);
    expect([r.trainCount, r.evalCount]).toEqual([30, 10]);
  });

  it('histograms token lengths and the share truncated at max length', async () => {
    const spec: [string, string][] = [];
    for (let i = 1; i <= 100; i++) spec.push([Array.from({ length: i }, (_, k) => `w${k}`).join(' '), i % 2 ? 'a' : 'b']);
    const countTokens = (texts: string[]): number[] => texts.map((t) => t.split(' ').length + 2);
    const r = await doctorDataset({ kind: 'rows', train: rows(spec) }, { countTokens, maxLength: 64 });
    const t = r.tokenLengths!;
    expect(t.measured).toBe(100);
    expect(t.truncatedCount).toBe(100 - 62); // lengths 3..102; above 64 are 65..102
    expect(t.truncatedShare).toBeCloseTo(0.38);
    expect(t.bins).toHaveLength(17);
    expect(t.bins[0]).toEqual({ from: 0, to: 8, count: 5 }); // 3..7
    expect(t.bins.at(-1)).toEqual({ from: 128, to: null, count: 0 });
    expect(t.bins.reduce((a, b) => a + b.count, 0)).toBe(100);
    expect([t.p50, t.max]).toEqual([53, 102]);
    expect(finding(r, 'truncation')).toMatchObject({ severity: 'warning', affected: 38, fix: { kind: 'max-length', label: 'Use max length 128' } });
    expect(finding(r, 'truncation').fix).toEqual({ kind: 'max-length', label: 'Use max length 128', maxLength: 128 });
  });

  it('measures a seeded sample of large sets, the same every time', async () => {
    const spec = balanced(500);
    const seen: string[][] = [];
    const countTokens = (texts: string[]): number[] => {
      seen.push(texts);
      return texts.map(() => 10);
    };
    const r1 = await doctorDataset({ kind: 'rows', train: rows(spec) }, { countTokens, tokenSampleSize: 50 });
    const r2 = await doctorDataset({ kind: 'rows', train: rows(spec) }, { countTokens, tokenSampleSize: 50 });
    expect(r1.tokenLengths).toMatchObject({ measured: 50, total: 500 });
    expect(seen[1]).toEqual(seen[0]);
    expect(r2.tokenLengths).toEqual(r1.tokenLengths);
    expect(tokenLengthReport([], 128, 0)).toMatchObject({ measured: 0, truncatedShare: 0, max: 0 });
  });

  it('uses a real tokenizer (bert-base-uncased) through countTokens', async () => {
    const tokenizer = await loadTokenizer(path.resolve(__dirname, '../../../shared/datasets/tokenizers/bert-base-uncased'));
    const long = 'stocks rally as investors cheer strong earnings '.repeat(30);
    const r = await doctorDataset(
      { kind: 'rows', train: rows([['hello world', 'a'], [long, 'b'], ['short text', 'a'], ['another one', 'b']]) },
      { countTokens: (texts) => texts.map((t) => tokenizer.countTokens(t)), maxLength: 128 },
    );
    expect(r.tokenLengths!.measured).toBe(4);
    expect(r.tokenLengths!.truncatedCount).toBe(1);
    expect(r.tokenLengths!.p50).toBe(4); // [CLS] hello world [SEP]
    expect(r.tokenLengths!.max).toBe(tokenizer.countTokens(long));
  });

  it('examines a prepared dataset in its own label order', async () => {
    const file = path.join(work, 'p.csv');
    fs.writeFileSync(file, `label,text\n${Array.from({ length: 30 }, (_, i) => `${i % 3 === 0 ? 2 : 1},row ${i}`).join('\n')}\n`);
    const meta = await prepareDataset(
      { file, mapping: { textColumns: [1], labelColumn: 0, textSeparator: ' ', labelNames: { 1: 'Zebra', 2: 'Apple' } }, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } },
      work,
    );
    expect(meta.labels).toEqual(['Zebra', 'Apple']);
    const r = await doctorDataset({ kind: 'prepared', id: meta.id }, { dataDir: work });
    expect(r.classBalance.classes.map((c) => c.label)).toEqual(['Zebra', 'Apple']);
    expect(r.classBalance.suggestedClassWeights).toEqual([24 / (2 * 16), 24 / (2 * 8)]);
    expect([r.trainCount, r.evalCount]).toEqual([24, 6]);
  });
});
