/**
 * `finetune train` and `finetune resume`: a transport over the AppApi, as the UI is. train reads
 * the file (inspectDataset), prepares it with the data doctor's fixes the user chose
 * (prepareDataset), starts the run (startRun) and follows its events until it ends; the CLI and
 * the app therefore train on the same rows with the same settings. The summary ends with the
 * learning check (src/shared/learning-check.ts): a run no better than the majority class says so,
 * with the flags to try.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StartRunRequest } from '../../shared/api';
import { compareWithBaseline } from '../../shared/baseline';
import { bestEvaluation } from '../../shared/best-metric';
import type { DatasetCleaning, PreparedDataset, SplitSpec } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { formatDuration, formatPercent, formatRate, plural, runDuration } from '../../shared/format';
import { assessLearning, type LearningVerdict, type ModelStart } from '../../shared/learning-check';
import { BEST_METRICS, PRESETS, runConfigSchema, trainingOptionsSchema, type TrainingOptions } from '../../shared/run-config';
import { BACKEND_NAMES, type BackendName, type RunDetail, type RunStatus } from '../../shared/types';
import type { App } from '../app';
import { MODEL_DIR } from '../engine/layout';
import { fsyncTree, removeDirSafely, renameWithRetry } from '../fsutil';
import { runDir } from '../paths';
import { JSON_FLAG, parseArgs, UsageError, type Args, type CommandSpec } from './args';
import { COLUMN_FLAGS, COLUMN_NOTE, mappingFromArgs, READ_FLAGS, readOverrides } from './dataset-flags';
import { apiClient, runTask } from './client';
import type { CliIo } from './io';
import { downloadProgressLine, modelRef } from './model-arg';
import { runPrinter } from './progress';

/** The app's API through the transports' one entry (validated like IPC and HTTP calls). */
const api = (app: App) => apiClient(app.api);

/** Each training option and the flag that sets it (also maps the app's field errors back to flags). */
export const OPTION_FLAGS: Record<keyof TrainingOptions, string> = {
  epochs: 'epochs',
  learningRate: 'lr',
  batchSize: 'batch-size',
  maxLength: 'max-length',
  warmupRatio: 'warmup',
  warmupSteps: 'warmup',
  weightDecay: 'weight-decay',
  gradientAccumulationSteps: 'accumulation',
  maxGradNorm: 'max-grad-norm',
  seed: 'seed',
  earlyStoppingPatience: 'patience',
  bestMetric: 'best-metric',
  evalEverySteps: 'eval-every',
  classWeights: 'class-weights',
  freezeEncoder: 'quick',
  groupByLength: 'group-by-length',
  evalBatchSize: 'eval-batch-size',
};

const R = PRESETS.recommended.options;

export const TRAIN_SPEC: CommandSpec = {
  path: 'train',
  summary: 'Fine-tune a classifier: the same preparation, data doctor fixes and settings as the app.',
  flags: {
    model: { kind: 'path', value: 'DIR|HUB_ID', required: true, help: 'a model folder or a Hub id such as roberta-base' },
    train: { kind: 'path', value: 'FILE', required: true, help: 'a CSV, TSV or JSONL file of texts and labels' },
    eval: { kind: 'path', value: 'FILE', help: 'a separate evaluation file (default: hold out --val-split of each class)' },
    'val-split': { kind: 'number', min: 0.001, max: 0.999, value: 'R', help: 'share of each class held out for evaluation (default 0.1)' },
    ...COLUMN_FLAGS,
    ...READ_FLAGS,
    'drop-duplicates': { kind: 'switch', help: 'doctor fix: keep only the first of rows with the same text and label' },
    'drop-conflicting': { kind: 'switch', help: 'doctor fix: drop every row whose text also occurs with another label' },
    'drop-leaked': { kind: 'switch', help: 'doctor fix: drop evaluation rows whose text is also in the training rows' },
    preset: { kind: 'string', value: 'NAME', choices: ['recommended', 'fast', 'thorough'], help: 'start from the app\'s preset (default recommended)' },
    epochs: { kind: 'number', min: 0.01, max: 1000, value: 'N', help: `passes over the training rows (default ${R.epochs})` },
    lr: { kind: 'number', min: 1e-12, max: 1, value: 'X', help: `learning rate (default ${formatRate(R.learningRate)})` },
    'batch-size': { kind: 'number', integer: true, min: 1, max: 4096, value: 'N', help: `rows per step (default ${R.batchSize})` },
    'max-length': { kind: 'number', integer: true, min: 8, max: 8192, value: 'N', help: `tokens per text; longer texts are cut (default ${R.maxLength})` },
    warmup: { kind: 'number', min: 0, value: 'R|N', help: 'warm-up: below 1 a ratio of the steps, from 1 up a number of steps' },
    'weight-decay': { kind: 'number', min: 0, max: 1, value: 'X', help: `AdamW weight decay (default ${R.weightDecay})` },
    accumulation: { kind: 'number', integer: true, min: 1, max: 1024, value: 'N', help: 'gradient accumulation steps (default 1)' },
    'max-grad-norm': { kind: 'number', min: 0, value: 'X', help: `gradient clipping norm (default ${R.maxGradNorm})` },
    seed: { kind: 'number', integer: true, min: 0, max: 2 ** 31 - 1, value: 'N', help: `seed of the split, the head and the shuffling (default ${R.seed})` },
    patience: { kind: 'number', integer: true, min: 1, value: 'N', help: 'stop after N evaluations without improvement' },
    'best-metric': { kind: 'string', value: 'M', choices: BEST_METRICS, help: 'what picks the best evaluation' },
    'eval-every': { kind: 'number', integer: true, min: 1, value: 'N', help: 'evaluate every N steps (default: each epoch)' },
    'eval-batch-size': { kind: 'number', integer: true, min: 1, max: 4096, value: 'N', help: `rows per evaluation batch (default ${R.evalBatchSize})` },
    'class-weights': { kind: 'string', value: 'auto|W1,W2,...', help: 'class-weighted loss: "auto" (balanced) or one weight per label' },
    quick: { kind: 'switch', help: 'quick mode: freeze the encoder, train only the head' },
    'group-by-length': { kind: 'switch', help: 'batches of similar lengths (faster)' },
    'mlm-epochs': { kind: 'number', integer: true, min: 1, max: 100, value: 'N', help: 'adapt the model to your texts first: N epochs of masked-LM on the training texts' },
    'mlm-texts': { kind: 'path', value: 'FILE', help: 'with --mlm-epochs: more unlabelled texts (one per line, or a CSV / TSV / JSONL text column)' },
    'mlm-lr': { kind: 'number', min: 1e-12, max: 1, value: 'X', help: 'with --mlm-epochs: the masked-LM learning rate (default 5e-5; 5e-4 from scratch)' },
    'mlm-mask': { kind: 'number', min: 0.01, max: 0.9, value: 'P', help: 'with --mlm-epochs: share of the tokens chosen for masking (default 0.15)' },
    backend: { kind: 'string', value: 'NAME', choices: BACKEND_NAMES, help: 'train on this backend (default: the best available)' },
    name: { kind: 'string', value: 'NAME', help: 'run name (default "<model> on <file>")' },
    out: { kind: 'path', value: 'DIR', help: 'copy the best model to this folder at the end' },
    json: { kind: 'switch', help: 'JSON lines: start, step, eval, log, end' },
  },
  notes: [COLUMN_NOTE, `Defaults are the Hugging Face recipe: ${R.epochs} epochs, lr ${formatRate(R.learningRate)}, batch ${R.batchSize}, max length ${R.maxLength}, weight decay ${R.weightDecay}.`],
};

export const RESUME_SPEC: CommandSpec = {
  path: 'resume',
  args: 'RUN_ID',
  positionals: { min: 1, max: 1 },
  summary: 'Continue an interrupted run from its last checkpoint.',
  flags: { out: TRAIN_SPEC.flags.out!, json: JSON_FLAG },
};

/** The options of the preset with the flags applied, checked by the same schema as the app's. */
export function optionsFromArgs(args: Args): TrainingOptions {
  const o: TrainingOptions = { ...PRESETS[(args.string('preset') ?? 'recommended') as keyof typeof PRESETS].options };
  const num = (flag: string): number | undefined => args.number(flag);
  o.epochs = num('epochs') ?? o.epochs;
  o.learningRate = num('lr') ?? o.learningRate;
  o.batchSize = num('batch-size') ?? o.batchSize;
  o.maxLength = num('max-length') ?? o.maxLength;
  o.weightDecay = num('weight-decay') ?? o.weightDecay;
  o.gradientAccumulationSteps = num('accumulation') ?? o.gradientAccumulationSteps;
  o.maxGradNorm = num('max-grad-norm') ?? o.maxGradNorm;
  o.seed = num('seed') ?? o.seed;
  o.earlyStoppingPatience = num('patience') ?? o.earlyStoppingPatience;
  o.evalEverySteps = num('eval-every') ?? o.evalEverySteps;
  o.evalBatchSize = num('eval-batch-size') ?? o.evalBatchSize;
  const warmup = num('warmup');
  if (warmup !== undefined) {
    if (warmup < 1) [o.warmupRatio, o.warmupSteps] = [warmup, 0];
    else if (Number.isInteger(warmup)) o.warmupSteps = warmup;
    else throw new UsageError('--warmup: give a ratio below 1 (0.1) or a whole number of steps (500)');
  }
  const best = args.string('best-metric');
  if (best !== undefined) o.bestMetric = best as TrainingOptions['bestMetric'];
  if (args.has('quick')) o.freezeEncoder = true;
  if (args.has('group-by-length')) o.groupByLength = true;
  const cw = args.string('class-weights');
  if (cw !== undefined && cw !== 'auto') {
    const w = cw.split(',').map((s) => Number(s.trim()));
    if (w.some((x) => !(x > 0))) throw new UsageError('--class-weights: give "auto" or positive numbers separated by commas, one per label');
    o.classWeights = w;
  }
  const checked = trainingOptionsSchema.safeParse(o);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new UsageError(`--${OPTION_FLAGS[issue.path[0] as keyof TrainingOptions] ?? String(issue.path[0])}: ${issue.message}`);
  }
  return o;
}

/** An invalid option the app refused becomes a usage error naming the flag. */
function asFlagError(err: unknown): unknown {
  if (!(err instanceof AppError) || err.code !== 'invalid_input') return err;
  // Fields as the app names them: "options.maxLength", or "request.options.x" from the schema.
  const field = err.field?.replace(/^request\./, '');
  if (field?.startsWith('options.')) {
    const flag = OPTION_FLAGS[field.slice('options.'.length).split('.')[0] as keyof TrainingOptions];
    if (flag) return new UsageError(`--${flag}: ${err.message}`);
  }
  return err;
}

const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled', 'interrupted']);

/** Starts a run and follows its events until it ends (Ctrl-C cancels it). */
async function startAndFollow(app: App, start: () => Promise<{ id: string; status: RunStatus }>, io: CliIo, json: boolean, onStarted: (id: string) => void): Promise<RunDetail> {
  const printer = runPrinter(io, json ? 'json' : io.isTTY ? 'tty' : 'plain');
  let runId: string | null = null;
  const ended = new Set<string>();
  let resolveEnd!: () => void;
  const end = new Promise<void>((r) => (resolveEnd = r));
  const mine =
    <T extends { runId: string }>(fn: (e: T) => void) =>
    (e: T): void => {
      if (e.runId === runId) fn(e);
    };
  const offs = [
    app.events.on('run-step', mine(printer.step)),
    app.events.on('run-eval', mine(printer.evaluation)),
    app.events.on('run-phase', mine(printer.phase)),
    app.events.on('run-log', mine(printer.log)),
    app.events.on('run-status', (e) => {
      if (!TERMINAL.has(e.status)) return;
      ended.add(e.runId);
      if (e.runId === runId) resolveEnd();
    }),
    // startRun downloads a Hub model first (events without a task id).
    app.events.on('download-progress', (p) => {
      if (p.taskId === null && runId === null && io.isTTY && io.write && !json) io.write(downloadProgressLine(p));
    }),
  ];
  const onAbort = (): void => {
    if (runId) void api(app).cancelRun(runId).catch(() => undefined);
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const run = await start();
    runId = run.id;
    onStarted(run.id);
    // The status events are synchronous: one that came before the id was known is in `ended`.
    if (ended.has(run.id) || TERMINAL.has(run.status)) resolveEnd();
    if (io.signal?.aborted) onAbort();
    await end;
    return await api(app).getRun(run.id);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    offs.forEach((off) => off());
    printer.flush();
  }
}

/**
 * Whether the run's model started from scratch. Neither the run's config nor the model folder
 * records it yet, so every model counts as pretrained (the learning check's advice is then the
 * pretrained one).
 */
function modelStart(_run: RunDetail): ModelStart {
  return 'pretrained';
}

export interface LearningSummary {
  verdict: LearningVerdict;
  /** The flags to try ("--lr 0.001 --epochs 5"), or null when the advice is not a setting. */
  tryFlags: string | null;
}

/** The learning check of the run's best evaluation, or null when it has none. */
export function learningSummary(run: RunDetail): LearningSummary | null {
  const config = runConfigSchema.safeParse(run.config);
  const best = bestEvaluation(run.evals, run.bestMetricName);
  if (!config.success || !best) return null;
  const verdict = assessLearning({
    accuracy: best.accuracy,
    supportPerClass: best.confusion.map((row) => row.reduce((a, b) => a + b, 0)),
    learningRate: config.data.options.learningRate,
    epochs: config.data.options.epochs,
    start: modelStart(run),
  });
  const tryFlags = verdict.learned || !verdict.suggestion ? null : `--lr ${formatRate(verdict.suggestion.learningRate)} --epochs ${verdict.suggestion.epochs}`;
  return { verdict, tryFlags };
}

/** Copies the run's best model to --out (whole or not at all). */
function copyModel(from: string, to: string): string {
  const target = path.resolve(to);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(from, tmp, { recursive: true });
  fsyncTree(tmp);
  if (fs.existsSync(target)) removeDirSafely(target);
  renameWithRetry(tmp, target, 10);
  return target;
}

/** The summary at the end of a run; the exit code (0 completed, 1 otherwise). */
function report(app: App, run: RunDetail, io: CliIo, json: boolean, out: string | null): number {
  const best = bestEvaluation(run.evals, run.bestMetricName);
  const modelDir = path.join(runDir(app.dataDir, run.id), MODEL_DIR);
  const hasModel = fs.existsSync(path.join(modelDir, 'config.json'));
  const copied = run.status === 'completed' && out && hasModel ? copyModel(modelDir, out) : null;
  const seconds = runDuration(run.startedAt, run.finishedAt);
  const learning = run.status === 'completed' ? learningSummary(run) : null;
  const notLearned = learning && !learning.verdict.learned ? learning.verdict : null;
  if (json) {
    io.out(
      JSON.stringify({
        event: 'end',
        run_id: run.id,
        status: run.status,
        error: run.error,
        backend: run.backend,
        best_metric: run.bestMetric,
        best_metric_name: run.bestMetricName,
        accuracy: best?.accuracy ?? null,
        macro_f1: best?.macroF1 ?? null,
        best_epoch: best?.epoch ?? null,
        model_dir: hasModel ? modelDir : null,
        out: copied,
        seconds,
        learned: learning ? learning.verdict.learned : null,
        baseline_accuracy: run.baselineAccuracy,
        baseline_macro_f1: run.baselineMacroF1,
        majority_rate: learning?.verdict.majorityRate ?? null,
        ...(notLearned ? { advice: notLearned.advice, suggestion: notLearned.suggestion && { learning_rate: notLearned.suggestion.learningRate, epochs: notLearned.suggestion.epochs }, try_flags: learning!.tryFlags } : {}),
      }),
    );
  } else if (run.status === 'completed') {
    io.out(`Run ${run.id} completed in ${formatDuration(seconds)} on ${run.backend ?? 'an unknown backend'}.`);
    if (best) io.out(`Best evaluation (epoch ${best.epoch.toFixed(2)}): accuracy ${formatPercent(best.accuracy)}, macro-F1 ${formatPercent(best.macroF1)}.`);
    if (best && run.baselineAccuracy !== null) {
      const versus = compareWithBaseline(best.accuracy, run.baselineAccuracy);
      io.out(`${versus.headline} (keyword baseline macro-F1 ${formatPercent(run.baselineMacroF1)}). ${versus.advice}`);
    }
    io.out(`Model: ${copied ?? modelDir}`);
    if (notLearned) {
      io.out(notLearned.advice);
      io.out(`the model has not learned; try ${learning!.tryFlags ?? 'a pretrained model, or more labelled rows per label'}`);
    }
  } else {
    io.err(`finetune train: run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`);
    if (run.status !== 'cancelled') io.err(`Resume it with: finetune resume ${run.id}`);
  }
  return run.status === 'completed' ? 0 : 1;
}

function cleaningFromArgs(args: Args): DatasetCleaning {
  const c: DatasetCleaning = {};
  if (args.has('drop-duplicates')) c.dropDuplicates = true;
  if (args.has('drop-conflicting')) c.dropConflicting = true;
  if (args.has('drop-leaked')) c.dropLeakedFromEval = true;
  return c;
}


export async function trainCommand(getApp: () => App, argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(TRAIN_SPEC, argv, io);
  if (!args) return 0;
  const evalFile = args.string('eval');
  const valSplit = args.number('val-split');
  if (evalFile !== undefined && valSplit !== undefined) throw new UsageError('give --eval FILE or --val-split R, not both');
  const json = args.has('json');
  // Check every option before any long work.
  const options = optionsFromArgs(args);
  const overrides = readOverrides(args);
  const cleaning = cleaningFromArgs(args);
  const file = path.resolve(args.string('train')!);
  const model = modelRef(args.string('model')!);
  const out = args.string('out') ?? null;
  const mlmEpochs = args.number('mlm-epochs');
  if (mlmEpochs === undefined && (args.has('mlm-texts') || args.has('mlm-lr') || args.has('mlm-mask'))) throw new UsageError('--mlm-texts, --mlm-lr and --mlm-mask go with --mlm-epochs N');
  const mlm =
    mlmEpochs === undefined
      ? null
      : {
          epochs: mlmEpochs,
          extraTextsFile: args.string('mlm-texts') !== undefined ? path.resolve(args.string('mlm-texts')!) : null,
          ...(args.number('mlm-lr') !== undefined ? { learningRate: args.number('mlm-lr')! } : {}),
          ...(args.number('mlm-mask') !== undefined ? { maskProbability: args.number('mlm-mask')! } : {}),
        };
  if (mlm?.extraTextsFile && !fs.existsSync(mlm.extraTextsFile)) throw new UsageError(`--mlm-texts: ${mlm.extraTextsFile} does not exist`);
  const app = getApp();

  const inspection = await runTask(app, io, !json, (t) => api(app).inspectDataset(file, overrides, t));
  const mapping = mappingFromArgs(args, inspection);
  const split: SplitSpec = evalFile !== undefined ? { kind: 'file', evalFile: path.resolve(evalFile) } : { kind: 'ratio', evalRatio: valSplit ?? 0.1, seed: options.seed };
  if (!json) io.out(`Preparing ${inspection.fileName} (${plural(inspection.rowCount, 'row')})...`);
  const prepared: PreparedDataset = await runTask(app, io, !json, (t) => api(app).prepareDataset({ file, mapping, split, cleaning }, t));
  if (!json) for (const w of prepared.warnings) io.out(`note: ${w}`);
  if (args.string('class-weights') === 'auto') {
    const n = prepared.trainCount;
    options.classWeights = prepared.classCounts.map((c) => n / (prepared.labels.length * Math.max(1, c.train)));
  } else if (options.classWeights && options.classWeights.length !== prepared.labels.length) {
    throw new UsageError(`--class-weights: give ${prepared.labels.length} weights (one per label: ${prepared.labels.join(', ')}), or "auto"`);
  }
  const request: StartRunRequest = {
    model,
    datasetId: prepared.id,
    options,
    ...(mlm ? { mlm } : {}),
    ...(args.string('name') !== undefined ? { name: args.string('name')! } : {}),
    ...(args.string('backend') !== undefined ? { backend: args.string('backend') as BackendName } : {}),
  };
  let run: RunDetail;
  try {
    run = await startAndFollow(app, () => api(app).startRun(request), io, json, (id) => {
      const dir = runDir(app.dataDir, id);
      if (json) {
        io.out(JSON.stringify({ event: 'start', run_id: id, run_dir: dir, output_dir: out ? path.resolve(out) : path.join(dir, MODEL_DIR), dataset_id: prepared.id, train_rows: prepared.trainCount, eval_rows: prepared.evalCount, labels: prepared.labels }));
      } else {
        io.out(`Run ${id}: ${plural(prepared.trainCount, 'training row')} and ${plural(prepared.evalCount, 'evaluation row')}, ${plural(prepared.labels.length, 'label')}. Folder: ${dir}`);
      }
    });
  } catch (err) {
    throw asFlagError(err);
  }
  return report(app, run, io, json, out);
}

export async function resumeCommand(getApp: () => App, argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(RESUME_SPEC, argv, io);
  if (!args) return 0;
  const json = args.has('json');
  const app = getApp();
  const run = await startAndFollow(app, () => api(app).resumeRun(args.positional[0]!), io, json, (id) => {
    if (json) io.out(JSON.stringify({ event: 'start', run_id: id, run_dir: runDir(app.dataDir, id), resumed: true }));
    else io.out(`Resuming run ${id}.`);
  });
  return report(app, run, io, json, args.string('out') ?? null);
}
