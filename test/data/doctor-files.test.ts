/**
 * The doctor and prepare on real files: typed fixes, conflicting labels across a separate
 * evaluation file (what the card says is what prepare drops, and what leaves the evaluation file
 * is named), one label beside a separate test file, file line numbers in the prepared doctor's
 * rows, the training file given as the evaluation file, and the user's own file names.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DatasetMapping, DoctorReport } from '../../src/shared/dataset';
import { AppError } from '../../src/shared/errors';
import { doctorDataset, inspectDataset, prepareDataset } from '../../src/main/data';
import { displayFileName } from '../../src/main/data/names';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-doctor-files-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const mapping: DatasetMapping = { textColumns: [0], labelColumn: 1, textSeparator: ' ' };
const finding = (r: DoctorReport, id: string) => r.findings.find((f) => f.id === id);

function write(name: string, lines: string[]): string {
  const file = path.join(work, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
const balanced = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix} text number ${i},${i % 2 ? 'pos' : 'neg'}`);

describe('doctor and prepare on files', () => {
  it('conflicting labels across a separate evaluation file: the card counts every row the fix drops, prepare drops exactly those and names the evaluation lines', async () => {
    const train = write('conflict-train.csv', ['text,label', 'shared text,pos', ...balanced(20, 'train')]);
    const test = write('conflict-test.csv', ['text,label', ...balanced(6, 'test'), 'shared text,neg', 'shared text,neg']);
    const split = { kind: 'file' as const, evalFile: test };
    const report = await doctorDataset({ kind: 'file', file: train, mapping, split });
    const f = finding(report, 'conflicting-duplicates')!;
    expect(f.fix).toEqual({ kind: 'drop-conflicting', label: expect.stringContaining('3 rows'), trainRows: 1, evalRows: 2 });
    expect(f.detail).toContain('3 rows in all, 2 of them in the evaluation file');
    const meta = await prepareDataset({ file: train, mapping, split, cleaning: { dropConflicting: true } }, path.join(work, 'data'));
    expect(meta.trainCount).toBe(20);
    expect(meta.evalCount).toBe(6);
    const text = meta.warnings.join('\n');
    expect(text).toContain('3 rows whose text also occurs with another label were dropped');
    expect(text).toContain('2 rows of the evaluation file conflict-test.csv');
    expect(text).toContain('lines 8, 9');
  });

  it('a one-label training file with a separate test file: the inspection finds its one label and the doctor says "Only one label"', async () => {
    const train = write('one-label.csv', ['review,verdict', ...Array.from({ length: 12 }, (_, i) => `a fine review number ${i},good`)]);
    const test = write('one-label-test.csv', ['review,verdict', 'another review,good', 'a bad one,bad']);
    const inspection = await inspectDataset(train);
    expect(inspection.labelCount).toBe(1);
    expect(inspection.suggestedMapping).toMatchObject({ textColumns: [0], labelColumn: 1 });
    expect(inspection.warnings.join('\n')).toContain('single value');
    const report = await doctorDataset({ kind: 'file', file: train, mapping, split: { kind: 'file', evalFile: test } });
    expect(finding(report, 'one-class')).toMatchObject({ severity: 'blocking', title: 'Only one label' });
    expect(finding(report, 'one-class')!.detail).toContain('"good"');
  });

  it("the doctor of a prepared dataset names the source file's lines (header and multi-line fields counted)", async () => {
    const lines = ['text,label', '"a text that spans\ntwo lines",pos', ...balanced(30, 'row')];
    lines.push('row text number 3,pos'); // repeats line 6's row: it is line 34 of the file
    const file = write('lines.csv', lines);
    const meta = await prepareDataset({ file, mapping, split: { kind: 'ratio', evalRatio: 0.2, seed: 5 } }, path.join(work, 'data'));
    const report = await doctorDataset({ kind: 'prepared', id: meta.id }, { dataDir: path.join(work, 'data') });
    const dup = finding(report, 'duplicates')!;
    expect(dup.rows).toEqual([34]);
    const fromFile = await doctorDataset({ kind: 'file', file, mapping });
    expect(finding(fromFile, 'duplicates')!.rows).toEqual([34]);
  });

  it('blocks the training file given as the evaluation file (same path or same content), and prepare refuses it', async () => {
    const train = write('same.csv', ['text,label', ...balanced(20, 'same')]);
    const copy = path.join(work, 'same-copy.csv');
    fs.copyFileSync(train, copy);
    for (const evalFile of [train, copy]) {
      const report = await doctorDataset({ kind: 'file', file: train, mapping, split: { kind: 'file', evalFile } });
      expect(report.blocking).toBe(true);
      expect(finding(report, 'eval-is-train')).toMatchObject({ severity: 'blocking', fix: { kind: 'split-ratio' } });
      expect(finding(report, 'leakage')).toBeUndefined();
      const failure = await prepareDataset({ file: train, mapping, split: { kind: 'file', evalFile } }, path.join(work, 'data')).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(AppError);
      expect((failure as AppError).message).toMatch(/training file/);
    }
    const other = write('other.csv', ['text,label', ...balanced(8, 'other')]);
    const fine = await doctorDataset({ kind: 'file', file: train, mapping, split: { kind: 'file', evalFile: other } });
    expect(finding(fine, 'eval-is-train')).toBeUndefined();
  });

  it("messages name the user's file, not the internal upload name", async () => {
    expect(displayFileName('/data/uploads/1796397272197-e3225d-empty.csv')).toBe('empty.csv');
    expect(displayFileName('/home/me/1796397272197-e3225d-empty.csv')).toBe('1796397272197-e3225d-empty.csv');
    expect(displayFileName('/data/uploads/1796397272197-e3225d-x.csv', 'My reviews.csv')).toBe('My reviews.csv');
    const empty = path.join(work, 'uploads', '1796397272197-e3225d-empty.csv');
    fs.mkdirSync(path.dirname(empty), { recursive: true });
    fs.writeFileSync(empty, '');
    const failure = (await inspectDataset(empty).catch((e: unknown) => e)) as AppError;
    expect(failure.message).toMatch(/^empty\.csv is empty/);
    const upload = write('uploads/1796397272197-abcdef-reviews_2024.csv', ['text,label', ...balanced(10, 'up'), 'ragged,row,here']);
    const named = await inspectDataset(upload, { displayName: 'reviews 2024.csv' });
    expect(named.fileName).toBe('reviews 2024.csv');
    expect(named.warnings.join('\n')).toContain('of reviews 2024.csv could not be read');
    const meta = await prepareDataset(
      { file: upload, displayName: 'reviews 2024.csv', mapping, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } },
      path.join(work, 'data'),
    );
    expect(meta.name).toBe('reviews 2024.csv');
    expect(meta.warnings.join('\n')).not.toContain('1796397272197');
    const report = await doctorDataset({ kind: 'file', file: upload, mapping });
    expect(finding(report, 'skipped-rows')!.title).toContain('(reviews_2024.csv)');
  });
});
