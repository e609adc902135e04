/**
 * Exports of a finished run, the public surface:
 *   exportRun(dataDir, runId, format, out?, options)   'hf' | 'recipe' | 'predictions' | 'baseline'
 *   exportHuggingFace / exportRecipe / exportPredictions / exportBaseline  the same, one format each
 *   predictFile(modelDir, input, output, options)      batch prediction with a model folder
 *   predictFileWith(classifier, input, output, options) the same with a loaded Predictor (engine worker)
 * Every long call takes { onProgress, signal }; a cancel or failure leaves the destination as it
 * was. With `runs`, each export is recorded as an artifact of the run ('export' for folders,
 * 'predictions' for CSV files).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import { checkOutputFile } from './destination';
import { writeEvalPredictionsCsv } from './eval-predictions';
import { exportHuggingFace, type ExportOptions, type ExportResult } from './huggingface';
import { predictFile, type PredictFileOptions, type PredictFileResult } from './predict-file';
import { exportRecipe } from './recipe';
import { BASELINE_EXPORT_FILE, exportBaseline } from './baseline';
import { exportGuard, loadRunSource, runDataset, runExportsDir } from './run-source';

export { exportHuggingFace, exportedModelConfig, runModelCard, type ExportOptions, type ExportResult } from './huggingface';
export { exportBaseline, BASELINE_EXPORT_FILE } from './baseline';
export { exportRecipe, recipeConfig, recipeReadme, RECIPE_REQUIREMENTS } from './recipe';
export { predictFile, predictFileWith, type DisposableClassifier, type PredictFileOptions, type PredictFileResult, type TextClassifier } from './predict-file';
export { writeEvalPredictionsCsv } from './eval-predictions';
export { loadRunSource, runExportsDir, type RunSource } from './run-source';
export { modelCard } from './model-card';

import { EXPORT_FORMATS, type ExportFormat } from '../../shared/api';
export { EXPORT_FORMATS, type ExportFormat };

export interface PredictionsExportOptions extends ExportOptions, Pick<PredictFileOptions, 'textColumns' | 'parse' | 'batchSize' | 'chunkRows' | 'csvInjectionSafe' | 'loadClassifier'> {
  /** A file to predict; without it, the run's evaluation predictions are written. */
  input?: string;
}

export type PredictionsExportResult = ExportResult & { rows: number; prediction: PredictFileResult | null };

/**
 * The predictions CSV path for `out`: a path ending in .csv is the file itself; anything else
 * is a folder that gets predictions.csv (with an input) or eval_predictions.csv (without).
 */
export function predictionsTarget(out: string, withInput: boolean): string {
  if (/\.csv$/i.test(out) && !(fs.existsSync(out) && fs.statSync(out).isDirectory())) return path.resolve(out);
  return path.resolve(out, withInput ? 'predictions.csv' : 'eval_predictions.csv');
}

/** Where an export goes when the caller names no destination: the run's exports/ folder. */
export function defaultExportPath(dataDir: string, runId: string, format: ExportFormat, input?: string): string {
  const dir = runExportsDir(dataDir, runId);
  if (format === 'hf') return path.join(dir, 'huggingface');
  if (format === 'recipe') return path.join(dir, 'recipe');
  if (format === 'baseline') return path.join(dir, BASELINE_EXPORT_FILE);
  if (!input) return path.join(dir, 'eval_predictions.csv');
  const stem = path.basename(input).replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'input';
  return path.join(dir, `predictions-${stem}.csv`);
}

/** What a predictions export of a run does, decided in the parent; the prediction itself can run in the engine worker. */
export interface PredictionsExportPlan {
  runId: string;
  /** The run's best model folder. */
  modelDir: string;
  /** The CSV to write (checked: not the input, not a foreign file unless overwrite, not inside the run). */
  output: string;
  /** The file to predict, or null for the run's evaluation predictions. */
  input: string | null;
  /** For predictFile/predictFileWith: the run's max length, evaluation batch size and text separator. */
  predict: Pick<PredictFileOptions, 'textColumns' | 'textSeparator' | 'parse' | 'maxLength' | 'batchSize' | 'chunkRows' | 'overwrite' | 'csvInjectionSafe'>;
  evalPredictionsFile: string | null;
  labels: string[];
}

export function planPredictionsExport(dataDir: string, runId: string, out: string | undefined, options: PredictionsExportOptions = {}): PredictionsExportPlan {
  const source = loadRunSource(dataDir, runId, options.runs);
  const file = out === undefined ? defaultExportPath(dataDir, runId, 'predictions', options.input) : predictionsTarget(out, options.input !== undefined);
  checkOutputFile(file, { overwrite: options.overwrite, inputs: options.input ? [options.input] : [], protect: exportGuard(source) });
  if (!options.input && !source.predictionsFile) {
    throw new AppError('not_found', `Run ${runId} has no evaluation predictions (it had no evaluation rows); give a file to predict (--input FILE).`, 'input');
  }
  return {
    runId,
    modelDir: source.modelDir,
    output: file,
    input: options.input ? path.resolve(options.input) : null,
    predict: {
      textColumns: options.textColumns,
      textSeparator: runDataset(source)?.mapping.textSeparator,
      parse: options.parse,
      maxLength: source.config.options.maxLength,
      batchSize: options.batchSize ?? source.config.options.evalBatchSize,
      chunkRows: options.chunkRows,
      overwrite: true, // checked above, with the run's guard
      csvInjectionSafe: options.csvInjectionSafe,
    },
    evalPredictionsFile: source.predictionsFile,
    labels: source.config.labels,
  };
}

/**
 * Predictions of a run as a CSV: of `input` with the run's model (its max length, its text
 * separator), or, without an input, the run's evaluation predictions. Runs the model in this
 * process; the app can instead run predictFileWith(plan.predict) in its engine worker and
 * record the artifact itself.
 */
export async function exportPredictions(dataDir: string, runId: string, out: string | undefined, options: PredictionsExportOptions = {}): Promise<PredictionsExportResult> {
  const plan = planPredictionsExport(dataDir, runId, out, options);
  let rows: number;
  let prediction: PredictFileResult | null = null;
  if (plan.input) {
    prediction = await predictFile(plan.modelDir, plan.input, plan.output, { ...plan.predict, onProgress: options.onProgress, signal: options.signal, loadClassifier: options.loadClassifier });
    rows = prediction.rows;
  } else {
    rows = await writeEvalPredictionsCsv(plan.evalPredictionsFile!, plan.labels, plan.output, {
      signal: options.signal,
      onProgress: options.onProgress,
      csvInjectionSafe: plan.predict.csvInjectionSafe,
    });
  }
  options.runs?.addArtifact(runId, 'predictions', plan.output);
  return { format: 'predictions', path: plan.output, files: [path.basename(plan.output)], bytes: fs.statSync(plan.output).size, rows, prediction };
}

/** One entry point for the four formats; `out` defaults to the run's exports/ folder. */
export async function exportRun(
  dataDir: string,
  runId: string,
  format: ExportFormat,
  out: string | undefined,
  options: PredictionsExportOptions = {},
): Promise<ExportResult> {
  const target = out ?? defaultExportPath(dataDir, runId, format, options.input);
  switch (format) {
    case 'hf':
      return exportHuggingFace(dataDir, runId, target, options);
    case 'recipe':
      return exportRecipe(dataDir, runId, target, options);
    case 'predictions':
      return exportPredictions(dataDir, runId, out, options);
    case 'baseline':
      return exportBaseline(dataDir, runId, target, options);
    default:
      throw new AppError('invalid_input', `unknown export format "${String(format)}"; use hf, predictions, recipe or baseline`, 'format');
  }
}
