/**
 * `finetune train`, `resume`, `runs` and `init`: the engine on the command line, through the
 * same createApp() and training service as the app (the trainer runs in a forked worker).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetInspection, DatasetMapping, SplitSpec } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { bestEvaluation } from '../../shared/best-metric';
import type { JsonObject } from '../../shared/json';
import { RECOMMENDED_OPTIONS, type RunConfig, type TrainingOptions } from '../../shared/run-config';
import type { RunSummary } from '../../shared/types';
import type { App } from '../app';
import { inspectDataset, prepareDataset, preparedDatasetDir } from '../data';
import { checkMaxLength, parseModelConfig, withLabels } from '../hf/config';
import { createModel, initialiseModel } from '../engine/models/index';
import { saveModelFolder } from '../engine/save';
import { readTokenizerFiles } from '../engine/tokenizer';
import { MODEL_DIR } from '../engine/layout';
import { fsyncTree, removeDirSafely, renameWithRetry } from '../fsutil';
import { resolveModel } from '../hub/resolve';
import { runDir } from '../paths';
import { flag, numberFlag, parseFlags, UsageError, type ParsedFlags } from './args';
import type { CliIo } from './data';
import { formatSeconds, runPrinter } from './progress';

export type CliIoWithWrite = CliIo & { write?: (s: string) => void };

export const TRAIN_USAGE = [
  'Usage: finetune train --model DIR|HUB_ID --train FILE [--eval FILE | --val-split R]',
  '         [--text-column COL]... [--label-column COL] [--epochs N] [--lr X] [--batch-size N]',
  '         [--max-length N] [--warmup R|N] [--weight-decay X] [--accumulation N] [--seed N]',
  '         [--patience N] [--best-metric accuracy|macro_f1|eval_loss] [--eval-every N]',
  '         [--class-weights auto|W1,W2,...] [--quick] [--group-by-length] [--backend NAME]',
  '         [--name NAME] [--out DIR] [--json]',
  '',
  'Defaults are the Hugging Face recipe: 3 epochs, lr 2e-5, batch 16, max length 128, weight decay 0.01.',
  'COL is a column name or its number (1 = first column); several --text-column are joined with a space.',
  '--warmup below 1 is a ratio of the steps, from 1 up a number of steps. --quick trains only the head.',
];

const TRAIN_FLAGS = {
  values: ['model', 'train', 'eval', 'val-split', 'text-column', 'label-column', 'epochs', 'lr', 'batch-size', 'max-length', 'warmup', 'weight-decay', 'accumulation', 'seed', 'patience', 'best-metric', 'eval-every', 'class-weights', 'backend', 'name', 'out'],
  switches: ['json', 'quick', 'group-by-length'],
};

/** A column given by name (header) or number (1-based). */
export function columnIndex(spec: string, columns: readonly { name: string }[], option: string): number {
  const byName = columns.findIndex((c) => c.name === spec);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(spec)) {
    const n = Number(spec);
    if (n >= 1 && n <= columns.length) return n - 1;
  }
  throw new UsageError(`${option}: no column "${spec}"; the file has ${columns.map((c, i) => `${i + 1}=${c.name}`).join(', ')}`);
}

/** The mapping from the suggestion, with --text-column / --label-column applied. */
export function mappingFromFlags(f: ParsedFlags, inspection: DatasetInspection): DatasetMapping {
  const base = inspection.suggestedMapping;
  const textSpecs = (f.values.get('text-column') ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const labelSpec = flag(f, 'label-column');
  const textColumns = textSpecs.length ? textSpecs.map((s) => columnIndex(s, inspection.columns, '--text-column')) : base?.textColumns;
  const labelColumn = labelSpec !== undefined ? columnIndex(labelSpec, inspection.columns, '--label-column') : base?.labelColumn;
  if (!textColumns?.length) throw new AppError('invalid_input', `${inspection.fileName}: no text column was found; name it with --text-column.`);
  if (labelColumn === undefined) throw new AppError('invalid_input', `${inspection.fileName}: no label column was found; name it with --label-column.`);
  return {
    textColumns,
    textSeparator: base?.textSeparator ?? ' ',
    labelColumn,
    labelNames: labelColumn === base?.labelColumn ? base?.labelNames : undefined,
    parse: inspection.parse,
  };
}

function optionsFromFlags(f: ParsedFlags, labelCount: number): TrainingOptions {
  const o: TrainingOptions = { ...RECOMMENDED_OPTIONS };
  o.epochs = numberFlag(f, 'epochs', { min: 0.01, max: 1000 }) ?? o.epochs;
  o.learningRate = numberFlag(f, 'lr', { min: 1e-12, max: 1 }) ?? o.learningRate;
  o.batchSize = numberFlag(f, 'batch-size', { integer: true, min: 1, max: 4096 }) ?? o.batchSize;
  o.maxLength = numberFlag(f, 'max-length', { integer: true, min: 8, max: 8192 }) ?? o.maxLength;
  o.weightDecay = numberFlag(f, 'weight-decay', { min: 0, max: 1 }) ?? o.weightDecay;
  o.gradientAccumulationSteps = numberFlag(f, 'accumulation', { integer: true, min: 1, max: 1024 }) ?? o.gradientAccumulationSteps;
  o.seed = numberFlag(f, 'seed', { integer: true, min: 0, max: 2 ** 31 - 1 }) ?? o.seed;
  o.earlyStoppingPatience = numberFlag(f, 'patience', { integer: true, min: 1 }) ?? null;
  o.evalEverySteps = numberFlag(f, 'eval-every', { integer: true, min: 1 }) ?? null;
  const warmup = numberFlag(f, 'warmup', { min: 0 });
  if (warmup !== undefined) {
    if (warmup < 1) o.warmupRatio = warmup;
    else if (Number.isInteger(warmup)) o.warmupSteps = warmup;
    else throw new UsageError('--warmup: give a ratio below 1 (0.1) or a whole number of steps (500)');
  }
  const best = flag(f, 'best-metric');
  if (best !== undefined) {
    if (best !== 'accuracy' && best !== 'macro_f1' && best !== 'eval_loss') throw new UsageError('--best-metric: use accuracy, macro_f1 or eval_loss');
    o.bestMetric = best;
  }
  o.freezeEncoder = f.switches.has('quick');
  o.groupByLength = f.switches.has('group-by-length');
  const cw = flag(f, 'class-weights');
  if (cw !== undefined && cw !== 'auto') {
    const w = cw.split(',').map(Number);
    if (w.length !== labelCount || w.some((x) => !(x > 0))) throw new UsageError(`--class-weights: give ${labelCount} positive numbers separated by commas, or "auto"`);
    o.classWeights = w;
  }
  return o;
}

/** A model folder, or a Hub id (downloaded into the Hugging Face cache, with progress). */
export async function resolveModelArg(source: string, io: CliIoWithWrite): Promise<string> {
  let shown = false;
  const resolved = await resolveModel(source, {
    signal: io.signal,
    onProgress: (p) => {
      if (!io.isTTY || !io.write) return;
      const pct = p.bytesTotal ? ` ${((p.bytesDone / p.bytesTotal) * 100).toFixed(0)} %` : '';
      io.write(`\rDownloading ${p.repo}: ${p.file ?? ''}${pct} (${p.filesDone}/${p.filesTotal} files) ETA ${formatSeconds(p.etaSeconds)}\x1b[K`);
      shown = true;
    },
  });
  if (shown && io.write) io.write('\n');
  if (resolved.note) io.err(`note: ${resolved.note}`);
  return resolved.dir;
}

/** Copies the run's best model to --out (whole or not at all). */
function copyModel(from: string, to: string): void {
  const target = path.resolve(to);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(from, tmp, { recursive: true });
  fsyncTree(tmp);
  if (fs.existsSync(target)) removeDirSafely(target);
  renameWithRetry(tmp, target, 10);
}

/** Follows a run's events until it ends; returns its final summary. */
export async function followRun(app: App, runId: string, io: CliIoWithWrite, json: boolean): Promise<RunSummary> {
  const printer = runPrinter(io, json ? 'json' : io.isTTY ? 'tty' : 'plain');
  const mine = <T extends { runId: string }>(fn: (e: T) => void) => (e: T) => {
    if (e.runId === runId) fn(e);
  };
  const offs = [
    app.events.on('run-step', mine(printer.step)),
    app.events.on('run-eval', mine(printer.evaluation)),
    app.events.on('run-phase', mine(printer.phase)),
    app.events.on('run-log', mine(printer.log)),
  ];
  const onAbort = () => app.training.cancel(runId);
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await app.training.wait(runId);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    offs.forEach((off) => off());
    printer.flush();
  }
}

function report(app: App, run: RunSummary, io: CliIo, json: boolean, out: string | null): number {
  const detail = app.runs.get(run.id)!;
  const best = bestEvaluation(detail.evals, run.bestMetricName);
  const modelDir = path.join(runDir(app.dataDir, run.id), MODEL_DIR);
  let copied: string | null = null;
  if (run.status === 'completed' && out && fs.existsSync(modelDir)) {
    copyModel(modelDir, out);
    copied = path.resolve(out);
  }
  const seconds = run.startedAt && run.finishedAt ? (run.finishedAt - run.startedAt) / 1000 : null;
  if (json) {
    io.out(JSON.stringify({ event: 'end', run_id: run.id, status: run.status, error: run.error, best_metric: run.bestMetric, best_metric_name: run.bestMetricName, accuracy: best?.accuracy ?? null, macro_f1: best?.macroF1 ?? null, best_epoch: best?.epoch ?? null, model_dir: fs.existsSync(modelDir) ? modelDir : null, out: copied, seconds }));
  } else if (run.status === 'completed') {
    io.out(`Run ${run.id} completed in ${formatSeconds(seconds)} on ${run.backend ?? 'an unknown backend'}.`);
    if (best) io.out(`Best evaluation (epoch ${best.epoch.toFixed(2)}): accuracy ${(best.accuracy * 100).toFixed(2)} %, macro-F1 ${best.macroF1.toFixed(4)}.`);
    io.out(`Model: ${copied ?? modelDir}`);
  } else {
    io.err(`Run ${run.id} ${run.status}${run.error ? `: ${run.error}` : '.'}`);
    if (run.status !== 'cancelled') io.err(`Resume it with: finetune resume ${run.id}`);
  }
  return run.status === 'completed' ? 0 : 1;
}

export async function trainCommand(app: App, argv: string[], io: CliIoWithWrite): Promise<number> {
  const f = parseFlags(argv, TRAIN_FLAGS);
  if (f.switches.has('help')) {
    TRAIN_USAGE.forEach((l) => io.out(l));
    return 0;
  }
  if (f.positional.length) throw new UsageError(`unexpected argument "${f.positional[0]}"`);
  const modelArg = flag(f, 'model');
  const trainFile = flag(f, 'train');
  if (!modelArg) throw new UsageError('--model is required (a model folder or a Hub id such as roberta-base)');
  if (!trainFile) throw new UsageError('--train is required (a CSV, TSV or JSONL file of texts and labels)');
  const evalFile = flag(f, 'eval');
  const valSplit = numberFlag(f, 'val-split', { min: 0.001, max: 0.999 });
  if (evalFile && valSplit !== undefined) throw new UsageError('give --eval FILE or --val-split R, not both');
  const json = f.switches.has('json');
  const backend = flag(f, 'backend');
  // Check the options before any long work.
  optionsFromFlags(f, 2);

  const inspection = await inspectDataset(trainFile, { signal: io.signal });
  const mapping = mappingFromFlags(f, inspection);
  const seed = numberFlag(f, 'seed', { integer: true, min: 0 }) ?? RECOMMENDED_OPTIONS.seed;
  const split: SplitSpec = evalFile ? { kind: 'file', evalFile } : { kind: 'ratio', evalRatio: valSplit ?? 0.1, seed };
  if (!json) io.out(`Preparing ${inspection.fileName} (${inspection.rowCount} rows)...`);
  const prepared = await prepareDataset({ file: trainFile, mapping, split }, app.dataDir, { signal: io.signal });
  for (const w of prepared.warnings) if (!json) io.out(`note: ${w}`);
  const options = optionsFromFlags(f, prepared.labels.length);
  if (flag(f, 'class-weights') === 'auto') {
    const n = prepared.trainCount;
    options.classWeights = prepared.classCounts.map((c) => n / (prepared.labels.length * Math.max(1, c.train)));
  }
  const modelPath = await resolveModelArg(modelArg, io);
  checkMaxLength(modelPath, options.maxLength);
  const config: RunConfig = {
    name: flag(f, 'name') ?? `${path.basename(modelArg)} on ${prepared.name}`,
    model: { source: modelArg, path: modelPath },
    labels: prepared.labels,
    dataset: { fingerprint: prepared.id, name: prepared.name, trainCount: prepared.trainCount, evalCount: prepared.evalCount, path: preparedDatasetDir(app.dataDir, prepared.id) },
    options,
  };
  if (backend) process.env.FINETUNE_BACKEND = backend;
  const run = await app.training.start(config);
  const dir = runDir(app.dataDir, run.id);
  const out = flag(f, 'out') ?? null;
  if (json) io.out(JSON.stringify({ event: 'start', run_id: run.id, run_dir: dir, output_dir: out ? path.resolve(out) : path.join(dir, MODEL_DIR), train_rows: prepared.trainCount, eval_rows: prepared.evalCount, labels: prepared.labels }));
  else io.out(`Run ${run.id}: ${prepared.trainCount} training and ${prepared.evalCount} evaluation rows, ${prepared.labels.length} labels. Folder: ${dir}`);
  const end = await followRun(app, run.id, io, json);
  return report(app, end, io, json, out);
}

export async function resumeCommand(app: App, argv: string[], io: CliIoWithWrite): Promise<number> {
  const f = parseFlags(argv, { values: ['out'], switches: ['json'] });
  const id = f.positional[0];
  if (!id || f.positional.length > 1) throw new UsageError('usage: finetune resume RUN_ID [--out DIR] [--json]');
  const json = f.switches.has('json');
  const run = await app.training.resume(id);
  if (json) io.out(JSON.stringify({ event: 'start', run_id: run.id, run_dir: runDir(app.dataDir, run.id), resumed: true }));
  else io.out(`Resuming run ${run.id} (${run.name}).`);
  const end = await followRun(app, run.id, io, json);
  return report(app, end, io, json, flag(f, 'out') ?? null);
}

/** `finetune init`: a randomly initialised model folder from a config and a tokenizer. */
export async function initCommand(argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags(argv, { values: ['config', 'tokenizer', 'out', 'labels', 'seed'], switches: ['json'] });
  const configFile = flag(f, 'config');
  const tokDir = flag(f, 'tokenizer');
  const out = flag(f, 'out');
  if (!configFile || !tokDir || !out) throw new UsageError('usage: finetune init --config CONFIG.json --tokenizer DIR --out DIR [--labels A,B,...] [--seed N]');
  let raw: JsonObject;
  try {
    raw = JSON.parse(fs.readFileSync(configFile, 'utf8')) as JsonObject;
  } catch (err) {
    throw new AppError('invalid_input', `--config ${configFile}: ${(err as Error).message}`);
  }
  let config = parseModelConfig(raw, configFile);
  const labels = flag(f, 'labels')?.split(',').map((s) => s.trim()).filter(Boolean);
  if (labels) config = withLabels(config, labels);
  const tokenizer = await readTokenizerFiles(tokDir, config.modelType);
  const model = createModel(config);
  try {
    initialiseModel(model, numberFlag(f, 'seed', { integer: true, min: 0 }) ?? 42);
    saveModelFolder(path.resolve(out), model, { sourceDir: tokDir, tokenizer });
  } finally {
    model.store.dispose();
  }
  const params = [...model.store.specs.values()].reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  if (f.switches.has('json')) io.out(JSON.stringify({ out: path.resolve(out), model_type: config.modelType, parameters: params, labels: config.id2label }));
  else io.out(`Wrote a randomly initialised ${config.modelType} model (${(params / 1e6).toFixed(2)} M parameters, ${config.numLabels} labels) to ${path.resolve(out)}`);
  return 0;
}
