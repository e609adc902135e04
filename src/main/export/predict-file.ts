/**
 * Batch prediction of a CSV, TSV or JSON lines file, in bounded memory:
 *   1. the file is read once by the data module's streaming reader (encodings, delimiters,
 *      quoting, skipped rows reported) and its records are spilled to a scratch file while
 *      column statistics are gathered (they choose the text columns when none are given, and
 *      the count gives the progress total);
 *   2. the scratch file is read back in chunks of rows: each chunk is predicted and appended to
 *      a temp CSV (input columns, predicted_label, confidence, one prob_<label> per class).
 * The temp CSV is renamed over the output only at the end; a cancel or a failure removes the
 * scratch and temp files and leaves the output as it was.
 *
 * It needs only a classifier (the engine's Predictor) and files, so the app can run it in the
 * engine worker and the CLI in its own process.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { DataProgress, ParseOverrides, SkippedRows } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { resolveFormat, readRecords, joinTextColumns, type ResolvedFormat } from '../data';
import { ColumnStats, suggestColumns } from '../data/columns';
import { BufferedFileWriter } from '../data/row-store';
import { ProgressReporter } from '../data/progress';
import type { Prediction, PredictOptions } from '../engine/inference';
import { fsyncPath, renameWithRetry } from '../fsutil';
import { checkOutputFile, tempFileFor } from './destination';
import { csvLine, predictionCells, predictionColumns } from './predictions';

/** What batch prediction needs from the engine (the Predictor has it). */
export interface TextClassifier {
  readonly labels: string[];
  predict(texts: readonly string[], options?: PredictOptions): Promise<Prediction[]>;
}

export interface PredictFileOptions {
  /**
   * Columns joined into the text: header names, numbers as strings ("2" = the second column,
   * as the CLI takes them) or 0-based indexes. Default: the columns that look like text.
   */
  textColumns?: readonly (string | number)[];
  /** Put between joined text columns (default one space, as in training). */
  textSeparator?: string;
  /** How to read the file; detected when left out. */
  parse?: ParseOverrides;
  /** Truncation length in tokens (use the run's max length). Default 512, capped by the model. */
  maxLength?: number;
  batchSize?: number;
  /** Rows read back, predicted and written at a time (memory bound). Default 1024. */
  chunkRows?: number;
  /** Replace an existing output file that is not an earlier predictions CSV. */
  overwrite?: boolean;
  /** false: write cells verbatim, formulas included (default: neutralised, see export/predictions.ts). */
  csvInjectionSafe?: boolean;
  onProgress?: (p: DataProgress) => void;
  signal?: AbortSignal;
  /**
   * predictFile: loads the model folder as a classifier, released with dispose() at the end
   * (default: the engine's Predictor on this process's backend; the engine worker passes one that
   * runs the model in the engine window).
   */
  loadClassifier?: (modelDir: string) => Promise<DisposableClassifier>;
}

/** A classifier predictFile loads and releases. */
export interface DisposableClassifier extends TextClassifier {
  dispose(): Promise<void> | void;
}

export interface PredictFileResult {
  input: string;
  output: string;
  /** Rows written (every readable row of the input). */
  rows: number;
  /** Rows whose text was empty: written with empty prediction cells. */
  emptyTexts: number;
  /** Rows of the input that could not be read (not in the output). */
  skipped: SkippedRows;
  /** Names of the columns joined into the text. */
  textColumns: string[];
  labels: string[];
  encodingNote: string | null;
  seconds: number;
}

export const DEFAULT_CHUNK_ROWS = 1024;

function cancelled(what: string): AppError {
  return new AppError('cancelled', `${what} was cancelled; no output was written.`);
}

/** Resolves names or indexes to column indexes. */
export function resolveTextColumns(specs: readonly (string | number)[], columnNames: readonly string[], fileName: string): number[] {
  if (specs.length === 0) throw new AppError('invalid_input', 'give at least one text column', 'textColumns');
  const listed = columnNames.map((n, i) => `${i + 1}=${n}`).join(', ');
  return specs.map((spec) => {
    if (typeof spec === 'number') {
      if (Number.isInteger(spec) && spec >= 0 && spec < columnNames.length) return spec;
      throw new AppError('invalid_input', `${fileName} has no column ${spec + 1}; its columns are ${listed}.`, 'textColumns');
    }
    const exact = columnNames.indexOf(spec);
    if (exact >= 0) return exact;
    const folded = columnNames.findIndex((n) => n.trim().toLowerCase() === spec.trim().toLowerCase());
    if (folded >= 0) return folded;
    if (/^\d+$/.test(spec.trim())) {
      const n = Number(spec.trim());
      if (n >= 1 && n <= columnNames.length) return n - 1;
    }
    throw new AppError('invalid_input', `${fileName} has no column "${spec}"; its columns are ${listed}.`, 'textColumns');
  });
}

/**
 * The columns that look like text, as the dataset import would choose them; a file without a
 * label column (the usual prediction input) gets its long text columns, else its longest one.
 */
export function guessTextColumns(names: readonly string[], stats: readonly ColumnStats[], format: 'delimited' | 'label-first' | 'jsonl'): number[] | null {
  if (format === 'label-first') return [1];
  if (names.length === 1) return stats[0]!.nonEmpty ? [0] : null;
  const suggestion = suggestColumns(names, stats, format);
  if (suggestion.mapping) return suggestion.mapping.textColumns;
  const textual = stats.map((s, i) => ({ s, i })).filter(({ s }) => s.type === 'text');
  const long = textual.filter(({ s }) => s.meanLength >= 15).map(({ i }) => i);
  if (long.length) return long;
  const longest = stats
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s.type !== 'empty' && s.type !== 'number')
    .sort((a, b) => b.s.meanLength - a.s.meanLength)[0];
  return longest ? [longest.i] : null;
}

/**
 * The input's format. A file of one text per line (one column, with or without a header) is
 * not a training file and the detection refuses it; it is read as a one-column table (tab as
 * the delimiter, so that commas stay in the text).
 */
export async function resolveInputFormat(input: string, overrides: ParseOverrides): Promise<ResolvedFormat> {
  try {
    return await resolveFormat(input, overrides);
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'unsupported' || overrides.format !== undefined || overrides.delimiter !== undefined) throw err;
    const oneColumn = await resolveFormat(input, { ...overrides, format: 'delimited', delimiter: '\t' }).catch(() => null);
    if (oneColumn && oneColumn.columnNames.length === 1) return oneColumn;
    throw err;
  }
}

/** Batch prediction with a loaded classifier (the engine worker's Predictor). */
export async function predictFileWith(classifier: TextClassifier, inputFile: string, outputFile: string, options: PredictFileOptions = {}): Promise<PredictFileResult> {
  const started = Date.now();
  const input = path.resolve(inputFile);
  const fileName = path.basename(input);
  if (!fs.existsSync(input) || !fs.statSync(input).isFile()) throw new AppError('not_found', `${input}: no such file. Give a CSV, TSV or JSON lines file of texts.`, 'input');
  const output = checkOutputFile(outputFile, { overwrite: options.overwrite, inputs: [input] });
  const signal = options.signal;
  const labels = classifier.labels;
  if (signal?.aborted) throw cancelled(`Predicting ${fileName}`);

  const format = await resolveInputFormat(input, options.parse ?? {});
  const scratch = tempFileFor(output).replace(/\.tmp$/, '.rows.tmp');
  const tmp = tempFileFor(output);
  let spill: BufferedFileWriter | null = null;
  let writer: BufferedFileWriter | null = null;
  try {
    // 1. Read and spill, gathering column statistics.
    spill = new BufferedFileWriter(scratch);
    let stats: ColumnStats[] = format.columnNames.map(() => new ColumnStats());
    const summary = await readRecords(
      format,
      {
        record: ({ fields }) => {
          for (let i = 0; i < stats.length; i++) stats[i]!.add(fields[i] ?? '');
          spill!.write(JSON.stringify(fields) + '\n');
        },
        reset: () => {
          spill!.truncate();
          stats = format.columnNames.map(() => new ColumnStats());
        },
      },
      { signal, onProgress: options.onProgress, phase: 'reading' },
    ).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'cancelled') throw cancelled(`Predicting ${fileName}`);
      throw err;
    });
    spill.close(false);
    const used = summary.format;
    const columns = used.columnNames;
    const total = summary.records;

    let textColumns: number[];
    if (options.textColumns?.length) textColumns = resolveTextColumns(options.textColumns, columns, fileName);
    else {
      const guessed = guessTextColumns(columns, stats, used.settings.format);
      if (!guessed?.length) {
        throw new AppError('invalid_input', `${fileName}: no column looks like text (columns: ${columns.join(', ') || 'none'}); name the text column(s).`, 'textColumns');
      }
      textColumns = guessed;
    }
    const mapping = { textColumns, textSeparator: options.textSeparator ?? ' ' };

    // 2. Read back in chunks, predict, append.
    writer = new BufferedFileWriter(tmp);
    const csv = { csvInjectionSafe: options.csvInjectionSafe };
    writer.write(csvLine(predictionColumns(columns, labels), csv));
    const progress = new ProgressReporter('predicting', total, 'rows', options.onProgress);
    progress.update(0, true);
    const chunkRows = Math.max(1, options.chunkRows ?? DEFAULT_CHUNK_ROWS);
    let done = 0;
    let emptyTexts = 0;
    let chunk: string[][] = [];
    const flush = async (): Promise<void> => {
      if (!chunk.length) return;
      if (signal?.aborted) throw cancelled(`Predicting ${fileName}`);
      const texts = chunk.map((fields) => joinTextColumns(fields, mapping));
      const wanted = texts.map((t, i) => (t === '' ? -1 : i)).filter((i) => i >= 0);
      emptyTexts += texts.length - wanted.length;
      let predictions: Prediction[];
      try {
        predictions = wanted.length
          ? await classifier.predict(wanted.map((i) => texts[i]!), { maxLength: options.maxLength, batchSize: options.batchSize, signal })
          : [];
      } catch (err) {
        if ((err as Error).name === 'AbortError' || signal?.aborted) throw cancelled(`Predicting ${fileName}`);
        throw err;
      }
      const byRow = new Array<Prediction | null>(texts.length).fill(null);
      wanted.forEach((row, j) => (byRow[row] = predictions[j]!));
      chunk.forEach((fields, i) => {
        writer!.write(csvLine([...columns.map((_, c) => fields[c] ?? ''), ...predictionCells(byRow[i]!, labels)], csv));
      });
      done += chunk.length;
      chunk = [];
      progress.update(done);
    };
    const stream = fs.createReadStream(scratch, { encoding: 'utf8' });
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line === '') continue;
        chunk.push(JSON.parse(line) as string[]);
        if (chunk.length >= chunkRows) await flush();
      }
      await flush();
    } finally {
      lines.close();
      stream.destroy();
    }
    if (signal?.aborted) throw cancelled(`Predicting ${fileName}`);
    writer.close(true);
    try {
      renameWithRetry(tmp, output, 10);
    } catch (err) {
      throw new AppError('io', `Could not write ${output}: ${(err as Error).message}. Close any program that has it open and try again.`, 'out');
    }
    fsyncPath(path.dirname(output));
    progress.finish(done);
    return {
      input,
      output,
      rows: done,
      emptyTexts,
      skipped: summary.skipped,
      textColumns: textColumns.map((i) => columns[i]!),
      labels: labels.slice(),
      encodingNote: used.encodingNote,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (err) {
    spill?.abandon();
    writer?.abandon();
    fs.rmSync(tmp, { force: true });
    if (err instanceof AppError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new AppError('io', `Predicting ${fileName} failed: ${(err as Error).message}. No output was written.`);
    throw err;
  } finally {
    fs.rmSync(scratch, { force: true });
  }
}

/** Batch prediction with the model folder at modelDir, loaded in this process and released at the end. */
export async function predictFile(modelDir: string, inputFile: string, outputFile: string, options: PredictFileOptions = {}): Promise<PredictFileResult> {
  const predictor = await (options.loadClassifier ?? loadLocalPredictor)(modelDir);
  try {
    return await predictFileWith(predictor, inputFile, outputFile, options);
  } finally {
    await predictor.dispose();
  }
}

/** The Predictor on this process's backend (the best available when none is current yet). */
async function loadLocalPredictor(modelDir: string): Promise<DisposableClassifier> {
  const { tf } = await import('../engine/tf');
  const { initBackend } = await import('../engine/backends/start');
  const { Predictor } = await import('../engine/inference');
  if (!tf.getBackend()) await initBackend(null);
  return Predictor.load(modelDir);
}
