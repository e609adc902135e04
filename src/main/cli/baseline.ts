/**
 * `finetune baseline DATASET_OR_FILE`: the keyword baseline (TF-IDF word 1-2 grams + logistic
 * regression) of a prepared dataset, or of a file prepared as `finetune train` prepares it (same
 * split flags, so the same evaluation rows). Prints accuracy, macro-F1 and per-class scores;
 * --export FILE writes the model (vocabulary, idf, weights) as JSON, which
 * `finetune predict --baseline FILE --text ...` uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BaselineSummary, PreparedDataset, SplitSpec } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { formatCount, formatPercent, formatProbability, plural } from '../../shared/format';
import type { App } from '../app';
import { preparedDatasetDir } from '../data';
import { BASELINE_MODEL_FILE } from '../data/baseline-files';
import { loadBaseline, predictBaseline } from '../engine/baseline';
import { writeFileAtomic } from '../fsutil';
import { JSON_FLAG, parseArgs, UsageError, type CommandSpec } from './args';
import { apiClient, runTask } from './client';
import { COLUMN_FLAGS, COLUMN_NOTE, mappingFromArgs, READ_FLAGS, readOverrides } from './dataset-flags';
import type { CliIo } from './io';

const DATASET_ID = /^[0-9a-f]{64}$/;

export const BASELINE_SPEC: CommandSpec = {
  path: 'baseline',
  args: 'DATASET_ID|FILE',
  positionals: { min: 1, max: 1 },
  summary: 'The keyword baseline (TF-IDF + logistic regression) of a dataset: what any fine-tuned model should beat.',
  flags: {
    eval: { kind: 'path', value: 'FILE', help: 'a separate evaluation file (default: hold out --val-split of each class, as train does)' },
    'val-split': { kind: 'number', min: 0.001, max: 0.999, value: 'R', help: 'share of each class held out for evaluation (default 0.1)' },
    seed: { kind: 'number', integer: true, min: 0, max: 2 ** 31 - 1, value: 'N', help: 'seed of the split (default 42, as train)' },
    ...READ_FLAGS,
    ...COLUMN_FLAGS,
    export: { kind: 'path', value: 'FILE', help: 'write the baseline model (vocabulary, idf, weights) as JSON' },
    json: JSON_FLAG,
  },
  notes: [
    'DATASET_ID is a prepared dataset (64 hex digits, as `finetune train --json` prints it); a FILE is prepared first, with the same split as `finetune train` with the same flags.',
    'The exported JSON predicts with: finetune predict --baseline FILE --text T',
    COLUMN_NOTE,
  ],
};

export const BASELINE_PREDICT_SPEC: CommandSpec = {
  path: 'predict',
  summary: 'Labels and probabilities of texts with an exported keyword baseline.',
  flags: {
    baseline: { kind: 'path', value: 'FILE', required: true, help: 'a keyword baseline JSON (finetune baseline --export FILE)' },
    text: { kind: 'string', value: 'T', repeat: true, required: true, help: 'a text to classify (repeat for several)' },
    json: JSON_FLAG,
  },
};


function summaryJson(dataset: PreparedDataset, b: BaselineSummary, exported: string | null): Record<string, unknown> {
  return {
    dataset_id: dataset.id,
    dataset: dataset.name,
    accuracy: b.accuracy,
    macro_f1: b.macroF1,
    eval_loss: b.evalLoss,
    train_rows: b.trainRows,
    eval_rows: b.evalRows,
    features: b.features,
    iterations: b.iterations,
    converged: b.converged,
    train_seconds: b.trainSeconds,
    per_class: b.perClass.map((c) => ({ label: c.label, precision: c.precision, recall: c.recall, f1: c.f1, support: c.support })),
    confusion: b.confusion,
    exported,
  };
}

function printSummary(io: CliIo, dataset: PreparedDataset, b: BaselineSummary, exported: string | null): void {
  io.out(`Keyword baseline of ${dataset.name} (dataset ${dataset.id.slice(0, 12)}): accuracy ${formatPercent(b.accuracy)}, macro-F1 ${formatPercent(b.macroF1)} on ${plural(b.evalRows, 'evaluation row')}.`);
  io.out(`Trained on ${plural(b.trainRows, 'row')} in ${b.trainSeconds.toFixed(1)} s: ${formatCount(b.features)} word and word-pair features, ${plural(b.iterations, 'iteration')}${b.converged ? '' : ' (stopped before converging)'}.`);
  const w = Math.max(5, ...b.perClass.map((c) => Math.min(30, c.label.length)));
  io.out('');
  io.out(`  ${'label'.padEnd(w)}  ${'precision'.padStart(9)}  ${'recall'.padStart(7)}  ${'F1'.padStart(7)}  ${'support'.padStart(8)}`);
  for (const c of b.perClass) {
    io.out(`  ${c.label.slice(0, 30).padEnd(w)}  ${formatPercent(c.precision).padStart(9)}  ${formatPercent(c.recall).padStart(7)}  ${formatPercent(c.f1).padStart(7)}  ${formatCount(c.support).padStart(8)}`);
  }
  if (exported) io.out(`\nModel: ${exported}`);
}

export async function baselineCommand(getApp: () => App, argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(BASELINE_SPEC, argv, io);
  if (!args) return 0;
  const target = args.positional[0]!;
  const json = args.has('json');
  const evalFile = args.string('eval');
  const valSplit = args.number('val-split');
  if (evalFile !== undefined && valSplit !== undefined) throw new UsageError('give --eval FILE or --val-split R, not both');
  const exportTo = args.string('export');
  const app = getApp();
  const api = apiClient(app.api);

  let dataset: PreparedDataset;
  if (DATASET_ID.test(target) && !fs.existsSync(target)) {
    dataset = await api.getDataset(target);
  } else {
    const file = path.resolve(target);
    const inspection = await runTask(app, io, !json, (t) => api.inspectDataset(file, readOverrides(args), t));
    const mapping = mappingFromArgs(args, inspection);
    const split: SplitSpec = evalFile !== undefined ? { kind: 'file', evalFile: path.resolve(evalFile) } : { kind: 'ratio', evalRatio: valSplit ?? 0.1, seed: args.number('seed') ?? 42 };
    if (!json) io.out(`Preparing ${inspection.fileName} (${plural(inspection.rowCount, 'row')})...`);
    dataset = await runTask(app, io, !json, (t) => api.prepareDataset({ file, mapping, split }, t));
  }
  // Prepared before baselines existed, or its baseline failed: compute it now (its error is the command's).
  const summary = dataset.baseline ?? (await runTask(app, io, !json, (t) => api.computeBaseline(dataset.id, t)));

  let exported: string | null = null;
  if (exportTo !== undefined) {
    const from = path.join(preparedDatasetDir(app.dataDir, dataset.id), BASELINE_MODEL_FILE);
    let text: string;
    try {
      text = fs.readFileSync(from, 'utf8');
    } catch {
      throw new AppError('not_found', `The keyword baseline model of dataset ${dataset.id.slice(0, 12)} is missing (${from}); run the command again to compute it.`);
    }
    exported = path.resolve(exportTo);
    writeFileAtomic(exported, text);
  }
  if (json) io.out(JSON.stringify(summaryJson(dataset, summary, exported)));
  else printSummary(io, dataset, summary, exported);
  return 0;
}

/** `finetune predict --baseline FILE --text T...`: no backend, no model folder. */
export async function predictWithBaseline(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(BASELINE_PREDICT_SPEC, argv, io);
  if (!args) return 0;
  const file = args.string('baseline')!;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('not_found', `Cannot read the keyword baseline ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, 'baseline');
  }
  let model;
  try {
    model = loadBaseline(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new AppError('invalid_input', `${file} is not JSON: ${err.message}`, 'baseline');
    throw err;
  }
  const texts = args.all('text');
  const probs = predictBaseline(model, texts);
  const rows = texts.map((t, i) => {
    const p = probs[i]!;
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    return { text: t, label: model.labels[best]!, score: p[best]!, scores: Object.fromEntries(model.labels.map((l, k) => [l, p[k]!])) };
  });
  if (args.has('json')) for (const r of rows) io.out(JSON.stringify(r));
  else for (const r of rows) io.out(`${r.label} (${formatProbability(r.score)})  ${r.text}`);
  return 0;
}
