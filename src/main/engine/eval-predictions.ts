/**
 * The run's evaluation predictions, eval_predictions.jsonl: one JSON per evaluation row with
 * index, text, label, predicted, probs (rounded to 6 decimals). The writer (the trainer, when an
 * evaluation is the best so far) and the reader (a stream: the CSV export, the metrics of the
 * saved model when the database has none) live together here, so the format has one home.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { AppError } from '../../shared/errors';
import type { EvalPrediction } from '../../shared/types';
import { writeFileAtomic } from '../fsutil';
import { classificationReport, type ClassificationReport } from './metrics';

/** One line of eval_predictions.jsonl: the shared EvalPrediction the trainer writes. */
export type EvalPredictionRow = EvalPrediction;

/** The predictions of one evaluation, in evaluation-row order. */
export interface EvalPredictionsInput {
  texts: readonly string[];
  labels: ArrayLike<number>;
  predicted: ArrayLike<number>;
  /** [rows * numLabels] probabilities. */
  probs: Float32Array;
  numLabels: number;
}

/** Writes eval_predictions.jsonl whole or not at all (temp file, then rename). */
export function writeEvalPredictions(file: string, input: EvalPredictionsInput): void {
  const k = input.numLabels;
  const lines: string[] = [];
  for (let i = 0; i < input.labels.length; i++) {
    const p: EvalPrediction = {
      index: i,
      text: input.texts[i]!,
      label: input.labels[i]!,
      predicted: input.predicted[i]!,
      probs: Array.from(input.probs.subarray(i * k, (i + 1) * k), (x) => Math.round(x * 1e6) / 1e6),
    };
    lines.push(JSON.stringify(p));
  }
  writeFileAtomic(file, lines.join('\n') + '\n');
}

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
