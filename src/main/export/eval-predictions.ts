/**
 * The run's evaluation predictions (eval_predictions.jsonl: one JSON per evaluation row with
 * index, text, label, predicted, probs) read as a stream: as a CSV for the user, and as the
 * metrics of the saved model when the database has none.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { DataProgress } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import type { EvalPrediction } from '../../shared/types';
import { ProgressReporter } from '../data/progress';
import { BufferedFileWriter } from '../data/row-store';
import { classificationReport, type ClassificationReport } from '../engine/metrics';
import { renameWithRetry, fsyncPath } from '../fsutil';
import { csvLine, predictionCells, predictionColumns } from './predictions';
import { tempFileFor } from './destination';

/** One line of eval_predictions.jsonl: the shared EvalPrediction the trainer writes. */
export type EvalPredictionRow = EvalPrediction;

function parseRow(line: string, k: number): EvalPredictionRow | null {
  try {
    const r = JSON.parse(line) as EvalPredictionRow;
    const ok =
      typeof r.text === 'string' &&
      Number.isInteger(r.label) && r.label >= 0 && r.label < k &&
      Number.isInteger(r.predicted) && r.predicted >= 0 && r.predicted < k &&
      Array.isArray(r.probs) && r.probs.length === k && r.probs.every((p) => typeof p === 'number');
    return ok ? r : null;
  } catch {
    return null;
  }
}

/** Calls fn for each row in file order; a damaged row is an AppError naming its line. */
export async function forEachEvalPrediction(file: string, labelCount: number, fn: (row: EvalPredictionRow, lineBytes: number) => void, signal?: AbortSignal): Promise<number> {
  let stream: fs.ReadStream;
  try {
    stream = fs.createReadStream(file, { encoding: 'utf8' });
  } catch (err) {
    throw new AppError('io', `${file} cannot be read: ${(err as Error).message}`);
  }
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (signal?.aborted) throw new AppError('cancelled', 'The export was cancelled.');
      if (line.trim() === '') continue;
      const row = parseRow(line, labelCount);
      if (!row) throw new AppError('io', `${file} line ${lineNo} is damaged (expected {"index", "text", "label", "predicted", "probs"} with ${labelCount} probabilities); train or resume the run again to rewrite it.`);
      fn(row, Buffer.byteLength(line, 'utf8') + 1);
      n++;
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('io', `${file} cannot be read: ${(err as Error).message}`);
  } finally {
    lines.close();
    stream.destroy();
  }
  return n;
}

/** Metrics of the saved model, recomputed from its evaluation predictions. */
export async function evalPredictionsReport(file: string, labels: readonly string[], signal?: AbortSignal): Promise<ClassificationReport & { rows: number }> {
  const truth: number[] = [];
  const predicted: number[] = [];
  await forEachEvalPrediction(file, labels.length, (r) => {
    truth.push(r.label);
    predicted.push(r.predicted);
  }, signal);
  return { ...classificationReport(labels, truth, predicted), rows: truth.length };
}

export interface EvalCsvOptions {
  signal?: AbortSignal;
  onProgress?: (p: DataProgress) => void;
  /** false: cells verbatim; default: formulas neutralised (export/predictions.ts csvCell). */
  csvInjectionSafe?: boolean;
}

/**
 * Writes the evaluation predictions as a CSV (text, label, predicted_label, confidence,
 * prob_<label>...) to `outFile`, whole or not at all. Returns the number of rows.
 */
export async function writeEvalPredictionsCsv(predictionsFile: string, labels: readonly string[], outFile: string, options: EvalCsvOptions = {}): Promise<number> {
  const out = path.resolve(outFile);
  const tmp = tempFileFor(out);
  const total = fs.statSync(predictionsFile).size;
  let writer: BufferedFileWriter;
  try {
    writer = new BufferedFileWriter(tmp);
  } catch (err) {
    throw new AppError('io', `Cannot write ${out}: ${(err as Error).message}`, 'out');
  }
  try {
    const csv = { csvInjectionSafe: options.csvInjectionSafe };
    writer.write(csvLine(predictionColumns(['text', 'label'], labels), csv));
    let bytes = 0;
    const progress = new ProgressReporter('writing', total, 'bytes', options.onProgress);
    const rows = await forEachEvalPrediction(predictionsFile, labels.length, (r, lineBytes) => {
      const scores: Record<string, number> = {};
      labels.forEach((l, j) => (scores[l] = r.probs[j]!));
      const prediction = { label: labels[r.predicted]!, score: r.probs[r.predicted]!, scores };
      writer.write(csvLine([r.text, labels[r.label]!, ...predictionCells(prediction, labels)], csv));
      bytes += lineBytes;
      progress.update(Math.min(bytes, total));
    }, options.signal);
    writer.close(true);
    renameWithRetry(tmp, out, 10);
    fsyncPath(path.dirname(out));
    progress.finish(total);
    return rows;
  } catch (err) {
    writer.abandon();
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
