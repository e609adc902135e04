/**
 * The run's evaluation predictions as a CSV for the user. The eval_predictions.jsonl format
 * itself (writer and reader) is engine/eval-predictions.ts's; its reader is re-exported here for
 * the export modules.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DataProgress } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { ProgressReporter } from '../data/progress';
import { BufferedFileWriter } from '../data/row-store';
import { forEachEvalPrediction } from '../engine/eval-predictions';
import { renameWithRetry, fsyncPath } from '../fsutil';
import { csvLine, predictionCells, predictionColumns } from './predictions';
import { tempFileFor } from './destination';
import { nullRecord } from '../../shared/own';

export { evalPredictionsReport, forEachEvalPrediction, type EvalPredictionRow } from '../engine/eval-predictions';

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
      const scores = nullRecord<number>();
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
