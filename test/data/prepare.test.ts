/**
 * prepareDataset: the immutable fingerprinted copy, the stratified reproducible split, the
 * evaluation-file split, what a failure leaves behind (nothing), and loading it back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetMapping, PrepareRequest } from '../../src/shared/dataset';
import { AppError } from '../../src/shared/errors';
import {
  inspectDataset,
  listPreparedDatasets,
  loadPreparedDataset,
  prepareDataset,
  preparedDatasetDir,
  removePreparedDataset,
  stratifiedEvalMask,
} from '../../src/main/data';

const DATASETS = path.resolve(__dirname, '../../../shared/datasets');
let work: string;
let dataDir: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-prepare-'));
  dataDir = path.join(work, 'data');
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const csvMapping: DatasetMapping = { textColumns: [0], labelColumn: 1, textSeparator: ' ' };

function writeCsv(name: string, rows: [string, string][], header = 'text,label'): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, `${header}\n${rows.map(([t, l]) => `"${t.replaceAll('"', '""')}",${l}`).join('\n')}\n`);
  return file;
}

/** n rows per label, texts unique. */
function labelled(counts: Record<string, number>): [string, string][] {
  const rows: [string, string][] = [];
  for (const [label, n] of Object.entries(counts)) for (let i = 0; i < n; i++) rows.push([`${label} example ${i} with some words`, label]);
  return rows;
}

function entries(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

describe('stratified split', () => {
  it('keeps every class on both sides, takes round(n * ratio) of each, and is reproducible', () => {
    const labels = new Int32Array([...Array(50).fill(0), ...Array(7).fill(1), ...Array(2).fill(2), ...Array(300).fill(3)]);
    const names = ['a', 'b', 'c', 'd'];
    const none = new Uint8Array(labels.length);
    const mask = stratifiedEvalMask(labels, none, names, 0.2, 42);
    const evalCount = (c: number): number => labels.reduce((n, l, i) => n + (l === c && mask[i] ? 1 : 0), 0);
    expect([0, 1, 2, 3].map(evalCount)).toEqual([10, 1, 1, 60]);
    expect(stratifiedEvalMask(labels, none, names, 0.2, 42)).toEqual(mask);
    expect(stratifiedEvalMask(labels, none, names, 0.2, 43)).not.toEqual(mask);
    // A tiny ratio still puts one row of each class on the evaluation side; a huge one leaves one for training.
    const tiny = stratifiedEvalMask(labels, none, names, 0.001, 1);
    expect([0, 1, 2, 3].map((c) => labels.reduce((n, l, i) => n + (l === c && tiny[i] ? 1 : 0), 0))).toEqual([1, 1, 1, 1]);
    const huge = stratifiedEvalMask(labels, none, names, 0.999, 1);
    expect([0, 1, 2, 3].map((c) => labels.reduce((n, l, i) => n + (l === c && !huge[i] ? 1 : 0), 0))).toEqual([1, 1, 1, 1]);
  });

  it("does not change a class's split when another class changes", () => {
    const names = ['a', 'b'];
    const base = new Int32Array([...Array(40).fill(0), ...Array(40).fill(1)]);
    const more = new Int32Array([...Array(40).fill(0), ...Array(60).fill(1)]);
    const m1 = stratifiedEvalMask(base, new Uint8Array(base.length), names, 0.25, 9);
    const m2 = stratifiedEvalMask(more, new Uint8Array(more.length), names, 0.25, 9);
    expect(m2.slice(0, 40)).toEqual(m1.slice(0, 40));
  });

  it('refuses a class with a single row, naming it', () => {
    const labels = new Int32Array([0, 0, 0, 1]);
    expect(() => stratifiedEvalMask(labels, new Uint8Array(4), ['many', 'lonely'], 0.5, 1, 'x.csv')).toThrow(/"lonely" has a single row/);
  });
});

describe('prepareDataset', () => {
  it('writes train.jsonl, eval.jsonl and meta.json under datasets/<sha256>, and loads them back', async () => {
    const file = writeCsv('reviews.csv', labelled({ pos: 40, neg: 20 }));
    const progress: string[] = [];
    const meta = await prepareDataset({ file, mapping: csvMapping, split: { kind: 'ratio', evalRatio: 0.25, seed: 5 } }, dataDir, {
      onProgress: (p) => progress.push(p.phase),
    });
    expect(meta.id).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.labels).toEqual(['neg', 'pos']);
    expect(meta.classCounts).toEqual([
      { label: 'neg', train: 15, eval: 5 },
      { label: 'pos', train: 30, eval: 10 },
    ]);
    expect([meta.trainCount, meta.evalCount]).toEqual([45, 15]);
    expect(meta.name).toBe('reviews.csv');
    expect(meta.source).toMatchObject({ file, sizeBytes: fs.statSync(file).size });
    expect(meta.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(progress).toContain('reading');
    expect(progress).toContain('writing');
    const dir = preparedDatasetDir(dataDir, meta.id);
    expect(entries(dir)).toEqual(['eval.jsonl', 'eval.lines', 'meta.json', 'train.jsonl', 'train.lines']);
    expect(entries(path.join(dataDir, 'datasets'))).toEqual([meta.id]); // no temp folder left
    const loaded = await loadPreparedDataset(dataDir, meta.id);
    expect(loaded.meta).toEqual(meta);
    expect(loaded.train).toHaveLength(45);
    expect(loaded.eval).toHaveLength(15);
    expect(loaded.train[0]).toEqual({ text: expect.stringMatching(/example \d+ with some words/), label: expect.any(Number) });
    const all = [...loaded.train, ...loaded.eval].map((r) => `${r.text}|${meta.labels[r.label]}`).sort();
    expect(all).toEqual(labelled({ pos: 40, neg: 20 }).map(([t, l]) => `${t}|${l}`).sort());
    expect(listPreparedDatasets(dataDir).map((d) => d.id)).toEqual([meta.id]);
  });

  it('is reproducible: the same request gives the same id and files; another seed another split', async () => {
    const file = writeCsv('r.csv', labelled({ a: 30, b: 30, c: 9 }));
    const request: PrepareRequest = { file, mapping: csvMapping, split: { kind: 'ratio', evalRatio: 0.2, seed: 11 } };
    const first = await prepareDataset(request, dataDir);
    const firstEval = fs.readFileSync(path.join(preparedDatasetDir(dataDir, first.id), 'eval.jsonl'), 'utf8');
    const second = await prepareDataset(request, path.join(work, 'other-data'));
    expect(second.id).toBe(first.id);
    expect(fs.readFileSync(path.join(preparedDatasetDir(path.join(work, 'other-data'), second.id), 'eval.jsonl'), 'utf8')).toBe(firstEval);
    // Preparing again into the same folder keeps the first copy and its creation time.
    const again = await prepareDataset(request, dataDir, { now: () => 1 });
    expect(again.createdAt).toBe(first.createdAt);
    expect(entries(path.join(dataDir, 'datasets'))).toEqual([first.id]);
    const otherSeed = await prepareDataset({ ...request, split: { kind: 'ratio', evalRatio: 0.2, seed: 12 } }, dataDir);
    expect(otherSeed.id).not.toBe(first.id);
    expect(otherSeed.classCounts).toEqual(first.classCounts);
  });

  it('keeps its copy when the source file changes afterwards', async () => {
    const file = writeCsv('source.csv', labelled({ x: 10, y: 10 }));
    const meta = await prepareDataset({ file, mapping: csvMapping, split: { kind: 'ratio', evalRatio: 0.3, seed: 1 } }, dataDir);
    const dir = preparedDatasetDir(dataDir, meta.id);
    const before = Object.fromEntries(entries(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    writeCsv('source.csv', labelled({ x: 3, z: 30 }));
    const after = Object.fromEntries(entries(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    expect(after).toEqual(before);
    const loaded = await loadPreparedDataset(dataDir, meta.id);
    expect(loaded.meta.labels).toEqual(['x', 'y']);
    expect(loaded.train.length + loaded.eval.length).toBe(20);
    const changed = await prepareDataset({ file, mapping: csvMapping, split: { kind: 'ratio', evalRatio: 0.3, seed: 1 } }, dataDir);
    expect(changed.id).not.toBe(meta.id);
    expect(changed.source.sha256).not.toBe(meta.source.sha256);
    expect(listPreparedDatasets(dataDir)).toHaveLength(2);
  });

  it('refuses a prepared copy that was modified on disk', async () => {
    const file = writeCsv('t.csv', labelled({ x: 5, y: 5 }));
    const meta = await prepareDataset({ file, mapping: csvMapping, split: { kind: 'ratio', evalRatio: 0.4, seed: 1 } }, dataDir);
    const trainFile = path.join(preparedDatasetDir(dataDir, meta.id), 'train.jsonl');
    fs.appendFileSync(trainFile, '{"text":"sneaked in","label":0}\n');
    await expect(loadPreparedDataset(dataDir, meta.id)).rejects.toThrow(/changed on disk/);
    await expect(loadPreparedDataset(dataDir, 'f'.repeat(64))).rejects.toMatchObject({ code: 'not_found' });
    await expect(loadPreparedDataset(dataDir, '../../etc')).rejects.toMatchObject({ code: 'invalid_input' });
    expect(removePreparedDataset(dataDir, meta.id)).toBe(true);
    expect(listPreparedDatasets(dataDir)).toEqual([]);
  });

  it('uses an evaluation file, matching its columns by header name', async () => {
    const train = writeCsv('train.csv', labelled({ a: 6, b: 6 }));
    const evalFile = path.join(work, 'eval.csv');
    fs.writeFileSync(evalFile, 'label,text\na,a held out one\nb,b held out one\nb,b held out two\n');
    const meta = await prepareDataset({ file: train, mapping: csvMapping, split: { kind: 'file', evalFile } }, dataDir);
    expect(meta.classCounts).toEqual([
      { label: 'a', train: 6, eval: 1 },
      { label: 'b', train: 6, eval: 2 },
    ]);
    expect(meta.evalMapping).toMatchObject({ textColumns: [1], labelColumn: 0 });
    const loaded = await loadPreparedDataset(dataDir, meta.id);
    expect(loaded.eval).toEqual([
      { text: 'a held out one', label: 0 },
      { text: 'b held out one', label: 1 },
      { text: 'b held out two', label: 1 },
    ]);
  });

  it('refuses an evaluation label the training file never has, naming its line; leaves nothing behind', async () => {
    const train = writeCsv('train.csv', labelled({ a: 6, b: 6 }));
    const evalFile = path.join(work, 'eval.csv');
    fs.writeFileSync(evalFile, 'text,label\nfine,a\nnew class here,c\n');
    const err = await prepareDataset({ file: train, mapping: csvMapping, split: { kind: 'file', evalFile } }, dataDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/eval\.csv line 3: the label "c" does not occur in train\.csv/);
    expect(entries(path.join(dataDir, 'datasets'))).toEqual([]);
  });

  it('names the missing column of a wrong mapping', async () => {
    const file = writeCsv('m.csv', labelled({ a: 3, b: 3 }));
    const err = await prepareDataset({ file, mapping: { ...csvMapping, labelColumn: 4 }, split: { kind: 'ratio', evalRatio: 0.5, seed: 1 } }, dataDir).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'invalid_input', field: 'mapping.labelColumn' });
    expect((err as Error).message).toContain('m.csv has 2 columns');
  });

  it('cleans duplicates and leakage on request', async () => {
    const train = writeCsv('train.csv', [
      ['same text', 'a'],
      ['same text', 'a'],
      ['other text', 'b'],
      ['another', 'b'],
      ['more a', 'a'],
    ]);
    const evalFile = writeCsv('eval.csv', [
      ['same text', 'a'],
      ['fresh b', 'b'],
      ['fresh a', 'a'],
    ]);
    const meta = await prepareDataset(
      { file: train, mapping: csvMapping, split: { kind: 'file', evalFile }, cleaning: { dropDuplicates: true, dropLeakedFromEval: true } },
      dataDir,
    );
    expect([meta.trainCount, meta.evalCount]).toEqual([4, 2]);
    expect(meta.warnings.join(' ')).toMatch(/1 duplicate row .* dropped from the training rows/);
    expect(meta.warnings.join(' ')).toMatch(/1 evaluation row whose text is also in the training rows was dropped/);
  });

  it('joins several text columns and applies label names', async () => {
    const file = path.join(work, 'news.csv');
    fs.writeFileSync(file, '"1","Title one","Body one"\n"2","Title two","Body two"\n"1","Title three",""\n"2","Title four","Body four"\n');
    const meta = await prepareDataset(
      {
        file,
        mapping: { textColumns: [1, 2], labelColumn: 0, textSeparator: ' - ', labelNames: { 1: 'World', 2: 'Sports' } },
        split: { kind: 'ratio', evalRatio: 0.5, seed: 2 },
      },
      dataDir,
    );
    expect(meta.labels).toEqual(['World', 'Sports']);
    const loaded = await loadPreparedDataset(dataDir, meta.id);
    expect([...loaded.train, ...loaded.eval].map((r) => r.text).sort()).toEqual(['Title four - Body four', 'Title one - Body one', 'Title three', 'Title two - Body two']);
  });

  it('prepares AG News (train_5k + test.csv) as the engine needs it', async () => {
    const inspection = await inspectDataset(path.join(DATASETS, 'ag_news/train_5k.csv'));
    const meta = await prepareDataset(
      { file: inspection.file, mapping: inspection.suggestedMapping!, split: { kind: 'file', evalFile: path.join(DATASETS, 'ag_news/test.csv') } },
      dataDir,
    );
    expect(meta.labels).toEqual(['World', 'Sports', 'Business', 'Sci/Tech']);
    expect(meta.classCounts.map((c) => [c.train, c.eval])).toEqual([
      [1204, 1900],
      [1240, 1900],
      [1291, 1900],
      [1265, 1900],
    ]);
    const loaded = await loadPreparedDataset(dataDir, meta.id);
    expect(loaded.eval[0]).toEqual({
      text: expect.stringMatching(/^Fears for T N pension after talks Unions representing workers/),
      label: 2,
    });
  });
});
