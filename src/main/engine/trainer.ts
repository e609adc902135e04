/**
 * The training loop, as transformers.Trainer runs it: seeded shuffling (optionally grouped by
 * length), dynamic padding, gradient accumulation, the linear schedule with warm-up, an
 * evaluation per epoch or every N steps, the best model kept as a Hugging Face folder, early
 * stopping, and a checkpoint at each epoch end from which a resumed run continues exactly.
 * Pure of processes: worker.ts runs it in the trainer child and forwards its events.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfig, DatasetRow } from '../../shared/run-config';
import { isBetter, metricOf } from '../../shared/best-metric';
import type { EvalMetrics, EvalPrediction, TrainPhaseEvent, TrainStepEvent } from '../../shared/types';
import { writeFileAtomic } from '../fsutil';
import { batchTensors, disposeBatch, padRows } from './batch';
import { latestCheckpoint, readCheckpoint, writeCheckpoint, type TrainerState } from './checkpoint';
import { loadModelFolder, type LoadedModel } from './load';
import { argmaxRows, classificationReport, meanCrossEntropy, softmaxRows } from './metrics';
import type { Kernels } from './kernels';
import { ForwardContext } from './models/layers';
import { linearScheduleLr, warmupStepsFor } from './optimizer';
import { mixSeed, Rng } from './rng';
import { modelWeights, saveModelFolder } from './save';
import { MODEL_DIR, PREDICTIONS_FILE } from './layout';
import { predictLogits, Stepper, type LabeledBatch } from './step';
import type { TextTokenizer } from './tokenizer';

export interface TrainJob {
  runId: string;
  runDir: string;
  config: RunConfig;
  train: DatasetRow[];
  eval: DatasetRow[];
  /** Continue from the newest checkpoint in runDir. */
  resume: boolean;
}

export interface EvalEvent {
  metrics: EvalMetrics;
  isBest: boolean;
  bestMetric: number;
  bestMetricName: string;
}

export interface TrainerSink {
  phase(e: TrainPhaseEvent): void;
  step(e: TrainStepEvent): void;
  evaluation(e: EvalEvent): void;
  checkpoint(e: { step: number; epoch: number; path: string }): void;
  log(message: string): void;
}

export interface TrainResult {
  status: 'completed' | 'cancelled';
  stoppedEarly: boolean;
  globalStep: number;
  best: EvalMetrics | null;
  bestMetric: number | null;
  modelDir: string | null;
  predictionsFile: string | null;
  trainingSeconds: number;
}

export { MODEL_DIR, PREDICTIONS_FILE } from './layout';

export interface EncodedSet {
  ids: Int32Array[];
  typeIds: Int32Array[];
  labels: Int32Array;
  /** Real tokens per row. */
  lengths: Int32Array;
}

/** Tokenises rows once, truncated to maxLength as Python transformers truncates. */
export async function encodeRows(
  tokenizer: TextTokenizer,
  rows: readonly DatasetRow[],
  maxLength: number,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<EncodedSet> {
  const n = rows.length;
  const out: EncodedSet = { ids: new Array(n), typeIds: new Array(n), labels: new Int32Array(n), lengths: new Int32Array(n) };
  for (let i = 0; i < n; i++) {
    const e = tokenizer.encode(rows[i]!.text, maxLength);
    out.ids[i] = Int32Array.from(e.ids);
    out.typeIds[i] = Int32Array.from(e.typeIds);
    out.labels[i] = rows[i]!.label;
    out.lengths[i] = e.ids.length;
    if ((i + 1) % 500 === 0 || i + 1 === n) {
      onProgress?.(i + 1, n);
      await new Promise((r) => setImmediate(r));
      if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
    }
  }
  return out;
}

/**
 * The micro-batches of one epoch (row indices), drawn from the run seed and the epoch number
 * only, so a resumed run sees the same order. groupByLength: shuffled mega-batches of
 * 50 batches, each sorted longest first (as the Trainer's LengthGroupedSampler).
 */
export function epochBatches(n: number, batchSize: number, seed: number, epoch: number, lengths: ArrayLike<number>, groupByLength: boolean): number[][] {
  const rng = new Rng(mixSeed(seed, 0x5eed, epoch));
  let order = rng.permutation(n);
  if (groupByLength) {
    const mega = batchSize * 50;
    const grouped: number[] = [];
    for (let i = 0; i < n; i += mega) {
      const chunk = order.slice(i, i + mega).sort((a, b) => lengths[b]! - lengths[a]!);
      grouped.push(...chunk);
    }
    order = grouped;
  }
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

export class Trainer {
  private loaded: LoadedModel | null = null;

  constructor(
    private readonly job: TrainJob,
    private readonly sink: TrainerSink,
    private readonly signal: AbortSignal,
    /** The started backend's kernels (backends/start.ts), for the step, the optimizer and the eval forward. */
    private readonly kernels: Kernels,
  ) {}

  private phase(phase: TrainPhaseEvent['phase'], message: string, done = 0, total: number | null = null, etaSeconds: number | null = null): void {
    this.sink.phase({ phase, message, done, total, etaSeconds });
  }

  private labeled(set: EncodedSet, rows: readonly number[]): LabeledBatch {
    const model = this.loaded!.model;
    const host = padRows(rows.map((i) => ({ ids: set.ids[i]!, typeIds: set.typeIds[i]! })), this.loaded!.tokenizer.padId);
    return { tensors: batchTensors(host, model.config), labels: Int32Array.from(rows, (i) => set.labels[i]!) };
  }

  /** Eval-mode predictions over a set: metrics plus per-row probabilities. */
  async evaluate(set: EncodedSet, onBatch?: (done: number, total: number) => void): Promise<{ report: ReturnType<typeof classificationReport>; evalLoss: number; probs: Float32Array; predicted: Int32Array } | null> {
    const { model } = this.loaded!;
    const k = model.config.numLabels;
    const n = set.labels.length;
    const logits = new Float32Array(n * k);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => set.lengths[a]! - set.lengths[b]!);
    const bs = this.job.config.options.evalBatchSize;
    for (let i = 0; i < n; i += bs) {
      if (this.signal.aborted) return null;
      const rows = order.slice(i, i + bs);
      const b = this.labeled(set, rows);
      try {
        const out = predictLogits(model, b.tensors, this.kernels);
        rows.forEach((r, j) => logits.set(out.subarray(j * k, (j + 1) * k), r * k));
      } finally {
        disposeBatch(b.tensors);
      }
      onBatch?.(Math.min(n, i + bs), n);
      await new Promise((r) => setImmediate(r));
    }
    const probs = softmaxRows(logits, k);
    const predicted = argmaxRows(logits, k);
    const report = classificationReport(model.config.id2label, set.labels, predicted);
    return { report, evalLoss: meanCrossEntropy(logits, set.labels, k), probs, predicted };
  }

  async run(): Promise<TrainResult> {
    const { job, sink, signal } = this;
    const { config } = job;
    const opts = config.options;
    fs.mkdirSync(job.runDir, { recursive: true });

    this.phase('loading', `Loading ${config.model.source}`);
    this.loaded = await loadModelFolder(config.model.path, { labels: config.labels, seed: opts.seed });
    const { model, tokenizer, report } = this.loaded;
    if (report.initialised.length) sink.log(`New classification head initialised: ${report.initialised.join(', ')}`);
    if (report.reinitialised.length) sink.log(`Classification head re-initialised for ${config.labels.length} labels: ${report.reinitialised.join(', ')}`);
    if (report.ignored.length) sink.log(`Ignored ${report.ignored.length} checkpoint tensor(s) that classification does not use (e.g. ${report.ignored[0]}).`);

    let stepper: Stepper | null = null;
    try {
      let state: TrainerState = {
        version: 1,
        globalStep: 0,
        epochsCompleted: 0,
        bestMetric: null,
        bestStep: null,
        evalsWithoutImprovement: 0,
        seed: opts.seed,
        labels: [...config.labels],
        trainingSeconds: 0,
      };

      stepper = new Stepper(
        model,
        {
        weightDecay: opts.weightDecay,
        maxGradNorm: opts.maxGradNorm,
        trainable: opts.freezeEncoder ? model.headParams : undefined,
        classWeights: opts.classWeights,
        },
        this.kernels,
      );

      if (job.resume) {
        const dir = latestCheckpoint(job.runDir);
        if (dir) {
          this.phase('loading', `Resuming from ${path.basename(dir)}`);
          const ckpt = readCheckpoint(dir);
          for (const name of model.store.names()) {
            const t = ckpt.weights.get(name);
            if (!t) throw new Error(`${dir}: the checkpoint lacks ${name}`);
            model.store.set(name, t.data);
          }
          stepper.optimizer.restore(ckpt.state.globalStep, ckpt.moments);
          state = ckpt.state;
          sink.log(`Resumed at step ${state.globalStep} (epoch ${state.epochsCompleted}).`);
        } else {
          sink.log('No complete checkpoint yet: the run starts again from the beginning.');
        }
      }

      const t0 = Date.now();
      const encProgress = (what: string) => (done: number, total: number) =>
        this.phase('tokenising', `Tokenising ${what}`, done, total, null);
      const train = await encodeRows(tokenizer, job.train, opts.maxLength, encProgress('training rows'), signal);
      const evalSet = await encodeRows(tokenizer, job.eval, opts.maxLength, encProgress('evaluation rows'), signal);
      const truncated = train.lengths.filter((l) => l >= opts.maxLength).length;
      sink.log(`Tokenised ${train.labels.length} training and ${evalSet.labels.length} evaluation rows in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${truncated} training rows were truncated to ${opts.maxLength} tokens.`);

      const accum = opts.gradientAccumulationSteps;
      const microPerEpoch = Math.ceil(train.labels.length / opts.batchSize);
      const stepsPerEpoch = Math.max(1, Math.ceil(microPerEpoch / accum));
      const totalSteps = Math.max(1, Math.ceil(opts.epochs * stepsPerEpoch));
      const warmup = warmupStepsFor(totalSteps, { ratio: opts.warmupRatio, steps: opts.warmupSteps });
      const epochsTotal = Math.ceil(totalSteps / stepsPerEpoch);
      sink.log(`${totalSteps} optimizer steps (${stepsPerEpoch} per epoch), ${warmup} warm-up.`);

      let best: EvalMetrics | null = null;
      let modelDir: string | null = fs.existsSync(path.join(job.runDir, MODEL_DIR)) ? path.join(job.runDir, MODEL_DIR) : null;
      let predictionsFile: string | null = fs.existsSync(path.join(job.runDir, PREDICTIONS_FILE)) ? path.join(job.runDir, PREDICTIONS_FILE) : null;
      let lastEvalStep = -1;
      let stoppedEarly = false;
      const startSeconds = state.trainingSeconds;
      const clock0 = performance.now();
      const elapsed = (): number => startSeconds + (performance.now() - clock0) / 1000;
      let emaStep: number | null = null;

      const runEval = async (epochFloat: number): Promise<boolean> => {
        if (evalSet.labels.length === 0) return true;
        this.phase('evaluating', 'Evaluating', 0, evalSet.labels.length);
        const r = await this.evaluate(evalSet, (done, total) => this.phase('evaluating', 'Evaluating', done, total));
        if (!r) return false;
        const metrics: EvalMetrics = {
          step: state.globalStep,
          epoch: epochFloat,
          evalLoss: r.evalLoss,
          accuracy: r.report.accuracy,
          macroF1: r.report.macroF1,
          perClass: r.report.perClass,
          confusion: r.report.confusion,
        };
        lastEvalStep = state.globalStep;
        const value = metricOf(metrics, opts.bestMetric);
        const isBest = isBetter(value, state.bestMetric, opts.bestMetric);
        if (isBest) {
          state.bestMetric = value;
          state.bestStep = state.globalStep;
          state.evalsWithoutImprovement = 0;
          best = metrics;
          this.phase('saving', 'Saving the best model');
          modelDir = path.join(job.runDir, MODEL_DIR);
          saveModelFolder(modelDir, model, { sourceDir: config.model.path, tokenizer: tokenizer.files });
          predictionsFile = path.join(job.runDir, PREDICTIONS_FILE);
          const lines: string[] = [];
          for (let i = 0; i < evalSet.labels.length; i++) {
            const k = model.config.numLabels;
            const p: EvalPrediction = {
              index: i,
              text: job.eval[i]!.text,
              label: evalSet.labels[i]!,
              predicted: r.predicted[i]!,
              probs: Array.from(r.probs.subarray(i * k, (i + 1) * k), (x) => Math.round(x * 1e6) / 1e6),
            };
            lines.push(JSON.stringify(p));
          }
          writeFileAtomic(predictionsFile, lines.join('\n') + '\n');
        } else {
          state.evalsWithoutImprovement++;
        }
        sink.evaluation({ metrics, isBest, bestMetric: state.bestMetric!, bestMetricName: opts.bestMetric });
        if (opts.earlyStoppingPatience !== null && state.evalsWithoutImprovement >= opts.earlyStoppingPatience) {
          sink.log(`Stopping early: ${state.evalsWithoutImprovement} evaluation(s) without improvement of ${opts.bestMetric}.`);
          stoppedEarly = true;
        }
        return true;
      };

      const result = (status: TrainResult['status']): TrainResult => ({
        status,
        stoppedEarly: status === 'completed' && stoppedEarly,
        globalStep: state.globalStep,
        best,
        bestMetric: state.bestMetric,
        modelDir,
        predictionsFile,
        trainingSeconds: elapsed(),
      });
      const cancelled = (): TrainResult => result('cancelled');

      training: for (let epoch = state.epochsCompleted; epoch < epochsTotal; epoch++) {
        const batches = epochBatches(train.labels.length, opts.batchSize, opts.seed, epoch, train.lengths, opts.groupByLength);
        const firstStep = state.globalStep - epoch * stepsPerEpoch;
        for (let s = Math.max(0, firstStep); s < stepsPerEpoch && state.globalStep < totalSteps; s++) {
          if (signal.aborted) return cancelled();
          const t = performance.now();
          const micro = batches.slice(s * accum, (s + 1) * accum).map((rows) => this.labeled(train, rows));
          const contexts = micro.map((_, i) => new ForwardContext(true, mixSeed(opts.seed, state.globalStep, i), this.kernels));
          const lr = linearScheduleLr(opts.learningRate, state.globalStep, totalSteps, warmup);
          let outcome;
          try {
            outcome = stepper!.step(micro, contexts, lr);
          } finally {
            for (const b of micro) disposeBatch(b.tensors);
          }
          if (!Number.isFinite(outcome.loss)) {
            throw new Error(`the loss became ${outcome.loss} at step ${state.globalStep + 1}; lower the learning rate (now ${opts.learningRate})`);
          }
          state.globalStep++;
          const seconds = (performance.now() - t) / 1000;
          emaStep = emaStep === null ? seconds : 0.9 * emaStep + 0.1 * seconds;
          const rows = micro.reduce((a, b) => a + b.labels.length, 0);
          let tokens = 0;
          for (const rowsOf of batches.slice(s * accum, (s + 1) * accum)) for (const i of rowsOf) tokens += train.lengths[i]!;
          sink.step({
            step: state.globalStep,
            totalSteps,
            epoch: state.globalStep / stepsPerEpoch,
            loss: outcome.loss,
            learningRate: lr,
            gradNorm: outcome.gradNorm,
            samplesPerSecond: rows / seconds,
            tokensPerSecond: tokens / seconds,
            etaSeconds: emaStep * (totalSteps - state.globalStep),
            elapsedSeconds: elapsed(),
          });
          if (opts.evalEverySteps !== null && state.globalStep % opts.evalEverySteps === 0) {
            if (!(await runEval(state.globalStep / stepsPerEpoch))) return cancelled();
            if (stoppedEarly) break training;
          }
          await new Promise((r) => setImmediate(r));
        }
        state.epochsCompleted = epoch + 1;
        if (opts.evalEverySteps === null || state.globalStep >= totalSteps) {
          if (lastEvalStep !== state.globalStep && !(await runEval(state.globalStep / stepsPerEpoch))) return cancelled();
        }
        if (state.globalStep < totalSteps && !stoppedEarly) {
          this.phase('checkpointing', `Writing the checkpoint of epoch ${epoch + 1}`);
          state.trainingSeconds = elapsed();
          const dir = writeCheckpoint(job.runDir, {
            state,
            weights: modelWeights(model),
            moments: stepper!.optimizer.moments(),
            shapes: new Map(model.store.names().map((n) => [n, model.store.get(n).shape.slice()])),
          });
          sink.checkpoint({ step: state.globalStep, epoch: state.epochsCompleted, path: dir });
        }
        if (stoppedEarly) break;
      }
      return result('completed');
    } finally {
      stepper?.dispose();
      this.dispose();
    }
  }

  dispose(): void {
    this.loaded?.model.store.dispose();
    this.loaded = null;
  }
}
