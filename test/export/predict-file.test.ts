/**
 * Batch prediction of files (predictFile / predictFileWith) and the predictions export of a
 * run: output columns and order, chunked streaming, text column choice, CSV/TSV/JSONL input,
 * progress, cancel and refusals leaving nothing behind; the run's evaluation predictions as CSV;
 * `finetune export --format predictions`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataProgress, PreparedDataset } from '../../src/shared/dataset';
import { AppError } from '../../src/shared/errors';
import { exportCommand } from '../../src/main/cli/export';
import { Predictor, type Prediction, type PredictOptions } from '../../src/main/engine/inference';
import { exportPredictions, predictFile, predictFileWith, type TextClassifier } from '../../src/main/export/index';
import { setTestBackend } from '../helpers/engine';
import { testApp, type TestApp } from '../helpers/app';
import { fixtureDir } from '../helpers/reference';
import { fakeRun, leftovers, prepareAgNews, runConfig } from './helpers';

let t: TestApp;
let prepared: PreparedDataset;
let dir: string;

beforeAll(async () => {
  await setTestBackend('cpu');
  t = testApp();
  prepared = await prepareAgNews(t.dataDir, 40);
  dir = path.join(t.dataDir, 'files');
  fs.mkdirSync(dir);
});
afterAll(() => t?.cleanup());

/** A classifier that needs no model: "B" for texts with an even length. Records its calls. */
class FakeClassifier implements TextClassifier {
  readonly labels = ['A', 'B'];
  calls: string[][] = [];
  constructor(private readonly onCall?: () => void) {}
  async predict(texts: readonly string[], options?: PredictOptions): Promise<Prediction[]> {
    this.calls.push(texts.slice());
    this.onCall?.();
    if (options?.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
    return texts.map((s) => {
      const b = s.length % 2 === 0 ? 0.75 : 0.25;
      return { label: b > 0.5 ? 'B' : 'A', score: Math.max(b, 1 - b), scores: { A: 1 - b, B: b } };
    });
  }
}

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

function readCsv(file: string): string[][] {
  return parse(fs.readFileSync(file, 'utf8'), { relax_column_count: false }) as string[][];
}

const HEADLINES = [
  'Markets rally as rates hold steady',
  'Local team wins the championship, again',
  'A "quoted" headline, with a comma',
  'Multi-line\nheadline here today',
  'Scientists find water on a distant moon',
  'Oil prices fall for a third week',
  'Election results due tonight, officials say',
  'New phone launched with a bigger screen',
  'Storm closes schools across the region',
  'Chess champion retires after 20 years',
];
const BODIES = HEADLINES.map((h, i) => `Body ${i}: ${h.toLowerCase()} and more details follow here.`);
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
const CSV = ['id,headline,body', ...HEADLINES.map((h, i) => `${i + 1},${q(h)},${q(BODIES[i]!)}`)].join('\r\n') + '\r\n';

describe('predictFileWith (any classifier)', () => {
  it('writes the input columns, predicted_label, confidence and one prob column per class, in input order, chunk by chunk', async () => {
    const input = write('news.csv', CSV);
    const output = path.join(dir, 'out', 'news-predictions.csv');
    const fake = new FakeClassifier();
    const progress: DataProgress[] = [];
    const r = await predictFileWith(fake, input, output, { chunkRows: 3, onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ rows: 10, emptyTexts: 0, textColumns: ['headline', 'body'], labels: ['A', 'B'], output });
    expect(fake.calls.map((c) => c.length)).toEqual([3, 3, 3, 1]);
    expect(fake.calls.flat()[0]).toBe(`${HEADLINES[0]} ${BODIES[0]}`);
    const rows = readCsv(output);
    expect(rows[0]).toEqual(['id', 'headline', 'body', 'predicted_label', 'confidence', 'prob_A', 'prob_B']);
    expect(rows.length).toBe(11);
    rows.slice(1).forEach((row, i) => {
      expect(row.slice(0, 3)).toEqual([String(i + 1), HEADLINES[i], BODIES[i]]);
      const even = `${HEADLINES[i]} ${BODIES[i]}`.length % 2 === 0;
      expect(row[3]).toBe(even ? 'B' : 'A');
      expect(Number(row[4])).toBe(0.75);
      expect(Number(row[5]) + Number(row[6])).toBeCloseTo(1, 6);
    });
    const predicting = progress.filter((p) => p.phase === 'predicting');
    expect(progress[0]!.phase).toBe('reading');
    expect(predicting.every((p) => p.total === 10 && p.unit === 'rows')).toBe(true);
    expect(predicting.at(-1)).toMatchObject({ done: 10, etaSeconds: 0 });
    expect(leftovers(path.dirname(output))).toEqual([]);
  });

  it('takes text columns by name or number; rows with an empty text get empty prediction cells', async () => {
    const input = write('some-empty.csv', 'id,text,notes\n1,first text,a\n2,,b\n3,"third, text",c\n');
    const output = path.join(dir, 'some-empty.predictions.csv');
    const fake = new FakeClassifier();
    const r = await predictFileWith(fake, input, output, { textColumns: ['text'] });
    expect(r).toMatchObject({ rows: 3, emptyTexts: 1, textColumns: ['text'] });
    expect(fake.calls.flat()).toEqual(['first text', 'third, text']);
    const rows = readCsv(output);
    expect(rows[2]).toEqual(['2', '', 'b', '', '', '', '']);
    const r2 = await predictFileWith(new FakeClassifier(), input, output, { textColumns: ['3', 'TEXT'], textSeparator: ' | ' });
    expect(r2.textColumns).toEqual(['notes', 'text']);
    await expect(predictFileWith(new FakeClassifier(), input, output, { textColumns: ['title'] })).rejects.toThrow(/some-empty\.csv has no column "title"; its columns are 1=id, 2=text, 3=notes/);
  });

  it('reads TSV and JSON lines; the columns of JSON lines are its keys', async () => {
    const tsv = write('t.tsv', 'label\tsentence\nx\tthe first sentence is long enough\ny\tthe second sentence is long enough\n');
    const r = await predictFileWith(new FakeClassifier(), tsv, path.join(dir, 't.csv'));
    expect(r.textColumns).toEqual(['sentence']);
    expect(readCsv(path.join(dir, 't.csv'))[0]).toEqual(['label', 'sentence', 'predicted_label', 'confidence', 'prob_A', 'prob_B']);
    const jsonl = write('j.jsonl', '{"id": 1, "review": "great product, would buy again"}\n{"id": 2, "review": "terrible, broke after a day"}\n');
    const r2 = await predictFileWith(new FakeClassifier(), jsonl, path.join(dir, 'j.csv'));
    expect(r2).toMatchObject({ rows: 2, textColumns: ['review'] });
    expect(readCsv(path.join(dir, 'j.csv'))[1]!.slice(0, 2)).toEqual(['1', 'great product, would buy again']);
    // One text per line, no delimiter: a one-column table (commas stay in the text).
    const lines = write('lines.txt', 'just one line per text\nsecond text, with a comma\nthird\n');
    const r3 = await predictFileWith(new FakeClassifier(), lines, path.join(dir, 'lines.csv'));
    expect(r3.rows).toBe(3);
    expect(readCsv(path.join(dir, 'lines.csv')).map((row) => row[0])).toEqual(['column 1', 'just one line per text', 'second text, with a comma', 'third']);
    const withHeader = write('one-column.csv', 'text\na sentence that is long enough\n"quoted, with comma"\n');
    const r4 = await predictFileWith(new FakeClassifier(), withHeader, path.join(dir, 'one-column.out.csv'));
    expect(r4).toMatchObject({ rows: 2, textColumns: ['text'] });
  });

  it('a file that turns out not to be UTF-8 after the sample is read again as Windows-1252: each row once', async () => {
    const line = 'a sentence that is long enough to be text\n';
    const head = Buffer.from('text\n' + line.repeat(Math.ceil((300 * 1024) / line.length)));
    const input = write('late-latin1.csv', Buffer.concat([head, Buffer.from('caf\xe9 au lait is served here\n', 'latin1')]));
    const rowsIn = head.toString().split('\n').length - 2 + 1;
    const fake = new FakeClassifier();
    const r = await predictFileWith(fake, input, path.join(dir, 'latin1.csv'), { chunkRows: 5000 });
    expect(r.rows).toBe(rowsIn);
    expect(r.encodingNote).toMatch(/Windows-1252/);
    expect(fake.calls.flat().length).toBe(rowsIn);
    expect(fake.calls.flat().at(-1)).toBe('café au lait is served here');
  });

  it('cancel stops between chunks: no output, no temp files, an earlier output kept', async () => {
    const input = write('cancel.csv', CSV);
    const output = path.join(dir, 'cancel-out', 'p.csv');
    await predictFileWith(new FakeClassifier(), input, output);
    const before = fs.readFileSync(output);
    const controller = new AbortController();
    const fake = new FakeClassifier(() => controller.abort());
    const err = await predictFileWith(fake, input, output, { chunkRows: 2, signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('cancelled');
    expect(fake.calls.length).toBe(1);
    expect(fs.readFileSync(output)).toEqual(before);
    expect(fs.readdirSync(path.dirname(output))).toEqual(['p.csv']);
    const early = new AbortController();
    early.abort();
    await expect(predictFileWith(new FakeClassifier(), input, path.join(dir, 'never.csv'), { signal: early.signal })).rejects.toMatchObject({ code: 'cancelled' });
    expect(fs.existsSync(path.join(dir, 'never.csv'))).toBe(false);
  });

  it('refuses to write over the input or over a file that is not a predictions CSV (unless overwrite)', async () => {
    const input = write('refuse.csv', CSV);
    await expect(predictFileWith(new FakeClassifier(), input, input)).rejects.toMatchObject({ code: 'invalid_input' });
    const mine = write('important.csv', 'do not lose me\n');
    await expect(predictFileWith(new FakeClassifier(), input, mine)).rejects.toThrow(/important\.csv already exists and is not a predictions file/);
    expect(fs.readFileSync(mine, 'utf8')).toBe('do not lose me\n');
    await predictFileWith(new FakeClassifier(), input, mine, { overwrite: true });
    expect(readCsv(mine).length).toBe(11);
    await expect(predictFileWith(new FakeClassifier(), path.join(dir, 'missing.csv'), path.join(dir, 'x.csv'))).rejects.toMatchObject({ code: 'not_found' });
    await expect(predictFileWith(new FakeClassifier(), input, dir)).rejects.toThrow(/is a folder/);
  });
});

describe('predictFile with a model folder, and the predictions export of a run', () => {
  it("gives the Predictor's own predictions for the file's texts", async () => {
    const input = write('model.csv', CSV);
    const output = path.join(dir, 'model-out.csv');
    const r = await predictFile(fixtureDir('bert'), input, output, { maxLength: 32, chunkRows: 4 });
    const predictor = await Predictor.load(fixtureDir('bert'));
    try {
      const expected = await predictor.predict(HEADLINES.map((h, i) => `${h} ${BODIES[i]}`), { maxLength: 32 });
      const rows = readCsv(output).slice(1);
      expect(r.labels).toEqual(predictor.labels);
      rows.forEach((row, i) => {
        expect(row[3]).toBe(expected[i]!.label);
        expect(Number(row[4])).toBeCloseTo(expected[i]!.score, 5);
        predictor.labels.forEach((l, j) => expect(Number(row[5 + j])).toBeCloseTo(expected[i]!.scores[l]!, 5));
      });
    } finally {
      await predictor.dispose();
    }
  });

  it('exportPredictions: a file with the run model (folder or .csv path), or the evaluation predictions; recorded as artifacts', async () => {
    const runId = await fakeRun(t.dataDir, t.app.runs, runConfig(t.dataDir, prepared, 'bert'));
    const input = write('run-input.csv', CSV);
    const outDir = path.join(t.dataDir, 'run-exports');
    const a = await exportPredictions(t.dataDir, runId, outDir, { input, runs: t.app.runs });
    expect(a.path).toBe(path.join(outDir, 'predictions.csv'));
    expect(a.rows).toBe(10);
    expect(readCsv(a.path)[0]!.slice(3)).toEqual(['predicted_label', 'confidence', ...prepared.labels.map((l) => `prob_${l}`)]);
    const b = await exportPredictions(t.dataDir, runId, path.join(outDir, 'eval.CSV'), { runs: t.app.runs });
    expect(b.path).toBe(path.join(outDir, 'eval.CSV'));
    expect(b.rows).toBe(prepared.evalCount);
    const rows = readCsv(b.path);
    expect(rows[0]).toEqual(['text', 'label', 'predicted_label', 'confidence', ...prepared.labels.map((l) => `prob_${l}`)]);
    expect(rows.length).toBe(prepared.evalCount + 1);
    expect(prepared.labels).toContain(rows[1]![1]);
    expect(Number(rows[1]![3])).toBe(0.7);
    const c = await exportPredictions(t.dataDir, runId, outDir, {});
    expect(c.path).toBe(path.join(outDir, 'eval_predictions.csv'));
    // The engine worker's own classifier (the engine window's, in Electron): loaded with the run's model folder, used, released.
    const loadedFrom: string[] = [];
    let released = 0;
    const fake = new FakeClassifier();
    const d = await exportPredictions(t.dataDir, runId, path.join(outDir, 'loaded.csv'), {
      input,
      loadClassifier: async (dir) => {
        loadedFrom.push(dir);
        return Object.assign(fake, { dispose: () => void released++ });
      },
    });
    expect(loadedFrom.length).toBe(1);
    expect(fs.existsSync(path.join(loadedFrom[0]!, 'config.json'))).toBe(true);
    expect(fake.calls.flat().length).toBe(10);
    expect(released).toBe(1);
    // The fake's labels, not the run model's.
    expect(readCsv(d.path).slice(1).map((r) => r[3]).every((l) => l === 'A' || l === 'B')).toBe(true);
    const kinds = t.app.runs.artifacts(runId).filter((x) => x.kind === 'predictions').map((x) => x.path);
    expect(kinds).toEqual(expect.arrayContaining([a.path, b.path]));
    expect(leftovers(outDir)).toEqual([]);
  });

  it('finetune export --format predictions: --input and --text-column, one line out, usage errors exit 2', async () => {
    const runId = await fakeRun(t.dataDir, t.app.runs, runConfig(t.dataDir, prepared, 'bert'));
    const input = write('cli-input.csv', CSV);
    const lines: string[] = [];
    const errs: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => errs.push(l), isTTY: false };
    const out = path.join(t.dataDir, 'cli', 'p.csv');
    expect(await exportCommand(t.app, [runId, '--format', 'predictions', '--input', input, '--text-column', 'headline', '--out', out], io)).toBe(0);
    expect(lines[0]).toMatch(/^Predicted 10 rows of .*cli-input\.csv \(text from headline\)/);
    expect(lines.at(-1)).toBe(`Predictions: ${out}`);
    expect(await exportCommand(t.app, [runId, '--format', 'predictions', '--out', path.join(t.dataDir, 'cli'), '--json'], io)).toBe(0);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ format: 'predictions', rows: prepared.evalCount, path: path.join(t.dataDir, 'cli', 'eval_predictions.csv') });
    expect(await exportCommand(t.app, [runId, '--format', 'hf', '--input', input], io)).toBe(2);
    expect(errs.at(-1)).toBe('finetune export: --input is only for --format predictions');
    expect(await exportCommand(t.app, [runId, '--format', 'predictions', '--text-column', 'x'], io)).toBe(2);
    expect(await exportCommand(t.app, [runId, '--format', 'predictions', '--input', input, '--text-column', 'nope', '--out', out], io)).toBe(2);
    expect(errs.at(-1)).toMatch(/has no column "nope"/);
    // A TTY gets a progress line, ended before the summary.
    let screen = '';
    const tty = { ...io, isTTY: true, write: (s: string) => (screen += s) };
    expect(await exportCommand(t.app, [runId, '--format', 'predictions', '--input', input, '--out', out], tty)).toBe(0);
    expect(screen).toMatch(/\rReading .*\rPredicting 10\/10 rows 100 % ETA 0s\x1b\[K\n$/s);
    // Without --out: the run's exports/ folder.
    expect(await exportCommand(t.app, [runId, '--format', 'predictions', '--json'], io)).toBe(0);
    expect(JSON.parse(lines.at(-1)!).path).toBe(path.join(t.dataDir, 'runs', runId, 'exports', 'eval_predictions.csv'));
  });
});
