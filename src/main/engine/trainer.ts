/**
 * The training loop, as transformers.Trainer runs it: seeded shuffling (optionally grouped by
 * length), dynamic padding, gradient accumulation, the linear schedule with warm-up, an
 * evaluation per epoch or every N steps, the best model kept as a Hugging Face folder, early
 * stopping, and a checkpoint at each epoch end from which a resumed run continues exactly.
 * Pure of processes: worker.ts runs it in the trainer child and forwards its events.
 *
 * The model's training state is a TrainingEngine (training-engine.ts): a LocalEngine (Stepper on
 * the started backend) or, with options.remote, a RemoteStepper whose model and optimizer live in
 * the engine window; steps, evaluation forwards, checkpoint moments and resume go through it, and
 * the parameters are pulled back into the local model before every save. The masked-LM stage
 * always runs here, on the started backend.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfig, DatasetRow } from '../../shared/run-config';
import { isBetter, metricOf } from '../../shared/best-metric';
import type { EvalMetrics, TrainPhaseEvent, TrainStepEvent } from '../../shared/types';
import { padRows } from './batch';
import { latestCheckpoint, readCheckpoint, writeCheckpoint, type TrainerState } from './checkpoint';
import { writeEvalPredictions } from './eval-predictions';
import { loadModelFolder, type LoadedModel } from './load';
import { argmaxRows, classificationReport, meanCrossEntropy, softmaxRows } from './metrics';
import type { Kernels } from './kernels';
import type { SequenceClassifier } from './models/index';
import { linearScheduleLr, warmupStepsFor } from './optimizer';
import { mixSeed, Rng } from './rng';
import { modelWeights, saveModelFolder } from './save';
import { LocalEngine, type EngineBatch, type Moments, type TrainingEngine } from './training-engine';
import type { EngineWindowClient } from './window-client';
import type { InitResult } from './window-protocol';
import { RemoteStepper } from './window-stepper';
import { windowWithoutWebGpu } from './window-route';
import { MLM_MODEL_DIR, MLM_STAGE_DIR, MODEL_DIR, PREDICTIONS_FILE } from './layout';
import { removeDirSafely } from '../fsutil';
import { MLM_DEFAULT_LEARNING_RATE, MLM_SCRATCH_LEARNING_RATE } from '../../shared/run-config';
import { isNewMlmHead, loadMaskedLmFolder, overlayAdaptedEncoder } from './mlm/load';
import { DEFAULT_MASKING } from './mlm/collator';
import { PretrainCancelled, pretrainMaskedLm, pretrainStepsPerEpoch } from './mlm/pretrain';
import { saveMaskedLmFolder } from './mlm/save';
import { readUnlabelledTexts } from './mlm/texts';
import { readBack } from './kernels';
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

/**
 * Train in the engine window (window-protocol.ts) instead of on this process's backend: the
 * model and its optimizer live there; this process reads the files, tokenises, checkpoints and
 * saves (with the window's parameters pulled back first). worker.ts passes it in Electron's
 * utility process when WebGPU is wanted; tests pass a client to an in-process EngineHost.
 */
export interface RemoteEngineOptions {
  client: EngineWindowClient;
  /** Accept a software WebGPU adapter (WebGPU asked for by name). */
  allowSoftware: boolean;
  /** The window's backend and adapter, once it holds the model (the run records them). */
  onReady?(init: InitResult): void;
}

export interface TrainerOptions {
  remote?: RemoteEngineOptions;
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

/** What the parts of one run share: the model, the plan, the progress and the best model so far. */
interface RunContext {
  model: SequenceClassifier;
  tokenizer: TextTokenizer;
  engine: TrainingEngine;
  state: TrainerState;
  train: EncodedSet;
  evalSet: EncodedSet;
  plan: { accum: number; stepsPerEpoch: number; totalSteps: number; warmup: number; epochsTotal: number };
  best: EvalMetrics | null;
  modelDir: string | null;
  predictionsFile: string | null;
  lastEvalStep: number;
  stoppedEarly: boolean;
  /** Smoothed seconds per optimizer step, for the ETA. */
  emaStep: number | null;
  /** Training seconds so far, those of earlier sessions of a resumed run included. */
  elapsed(): number;
}

export class Trainer {
  private loaded: LoadedModel | null = null;

  constructor(
    private readonly job: TrainJob,
    private readonly sink: TrainerSink,
    private readonly signal: AbortSignal,
    /** The started backend's kernels (backends/start.ts), for the step, the optimizer and the eval forward. */
    private readonly kernels: Kernels,
    private readonly options: TrainerOptions = {},
  ) {}

  private phase(phase: TrainPhaseEvent['phase'], message: string, done = 0, total: number | null = null, etaSeconds: number | null = null): void {
    this.sink.phase({ phase, message, done, total, etaSeconds });
  }

  private labeled(set: EncodedSet, rows: readonly number[]): EngineBatch {
    const host = padRows(rows.map((i) => ({ ids: set.ids[i]!, typeIds: set.typeIds[i]! })), this.loaded!.tokenizer.padId);
    return { host, labels: Int32Array.from(rows, (i) => set.labels[i]!) };
  }

  /** Eval-mode predictions over a set, by the engine (here, or in the engine window): metrics plus per-row probabilities. */
  private async evaluate(engine: TrainingEngine, set: EncodedSet, onBatch?: (done: number, total: number) => void): Promise<{ report: ReturnType<typeof classificationReport>; evalLoss: number; probs: Float32Array; predicted: Int32Array } | null> {
    const { model } = this.loaded!;
    const k = model.config.numLabels;
    const n = set.labels.length;
    const logits = new Float32Array(n * k);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => set.lengths[a]! - set.lengths[b]!);
    const bs = this.job.config.options.evalBatchSize;
    for (let i = 0; i < n; i += bs) {
      if (this.signal.aborted) return null;
      const rows = order.slice(i, i + bs);
      const out = await engine.predictLogits(this.labeled(set, rows).host);
      rows.forEach((r, j) => logits.set(out.subarray(j * k, (j + 1) * k), r * k));
      onBatch?.(Math.min(n, i + bs), n);
      await new Promise((r) => setImmediate(r));
    }
    const probs = softmaxRows(logits, k);
    const predicted = argmaxRows(logits, k);
    const report = classificationReport(model.config.id2label, set.labels, predicted);
    return { report, evalLoss: meanCrossEntropy(logits, set.labels, k), probs, predicted };
  }

  /** Loads the model, resumes or starts, trains epoch by epoch, evaluates, keeps the best model. */
  async run(): Promise<TrainResult> {
    const { job } = this;
    const opts = job.config.options;
    fs.mkdirSync(job.runDir, { recursive: true });
    let adapted: string | null = null;
    if (job.config.mlm) {
      adapted = await this.adaptEncoder();
      if (adapted === null) return this.cancelledBeforeFineTuning();
    }
    const { model, tokenizer } = await this.loadModel(adapted);
    let engine: TrainingEngine | null = null;
    try {
      // The checkpoint's weights go into the local model first: a remote engine is sent them as they are.
      const { state, optimizer } = this.resumeOrStart();
      engine = await this.openEngine(model);
      if (optimizer) await engine.restore(optimizer.step, optimizer.moments);
      const { train, evalSet } = await this.encodeSets(tokenizer);
      const ctx = this.startRun(model, tokenizer, engine, state, train, evalSet);
      for (let epoch = state.epochsCompleted; epoch < ctx.plan.epochsTotal; epoch++) {
        const outcome = await this.trainEpoch(ctx, epoch);
        if (outcome === 'cancelled') return this.result(ctx, 'cancelled');
        if (outcome === 'stopped') break;
        state.epochsCompleted = epoch + 1;
        if (opts.evalEverySteps === null || state.globalStep >= ctx.plan.totalSteps) {
          if (ctx.lastEvalStep !== state.globalStep && !(await this.evaluateAndKeepBest(ctx))) return this.result(ctx, 'cancelled');
        }
        if (state.globalStep < ctx.plan.totalSteps && !ctx.stoppedEarly) await this.checkpoint(ctx, epoch);
        if (ctx.stoppedEarly) break;
      }
      return this.result(ctx, 'completed');
    } finally {
      await this.disposeEngine(engine);
      this.dispose();
    }
  }

  /** The model's training state: here on the started backend, or in the engine window (options.remote). */
  private async openEngine(model: SequenceClassifier): Promise<TrainingEngine> {
    const opts = this.job.config.options;
    const stepOptions = {
      weightDecay: opts.weightDecay,
      maxGradNorm: opts.maxGradNorm,
      trainable: opts.freezeEncoder ? model.headParams : undefined,
      classWeights: opts.classWeights,
    };
    const remote = this.options.remote;
    if (!remote) return new LocalEngine(model, stepOptions, this.kernels);
    this.phase('loading', 'Sending the model to the engine window');
    let engine: RemoteStepper;
    try {
      engine = await RemoteStepper.open(remote.client, model, { ...stepOptions, allowSoftware: remote.allowSoftware, source: this.job.config.model.source });
    } catch (err) {
      throw windowWithoutWebGpu(err, process.platform);
    }
    this.sink.log(`Training in the engine window on ${engine.init.device} (${engine.init.backend}); files stay in this process.`);
    remote.onReady?.(engine.init);
    return engine;
  }

  /** Frees the engine; a remote one that cannot be reached any more (the window is gone) is only logged: the run's own outcome stands. */
  private async disposeEngine(engine: TrainingEngine | null): Promise<void> {
    if (!engine) return;
    if (engine instanceof LocalEngine) return engine.dispose();
    try {
      await engine.dispose();
    } catch (err) {
      this.sink.log(`The engine window could not free the model (${(err as Error).message}).`);
    }
  }

  /**
   * The model folder with the run's labels, and what loading it changed (logged); after a
   * masked-LM stage, the adapted encoder laid over it (the pooler and head as without the stage).
   */
  private async loadModel(adaptedFolder: string | null): Promise<LoadedModel> {
    const { config } = this.job;
    this.phase('loading', adaptedFolder ? `Loading ${config.model.source}, adapted to your texts` : `Loading ${config.model.source}`);
    this.loaded = await loadModelFolder(config.model.path, { labels: config.labels, seed: config.options.seed });
    if (adaptedFolder) {
      let overlaid: string[];
      try {
        overlaid = overlayAdaptedEncoder(this.loaded.model, adaptedFolder);
      } catch (err) {
        this.dispose();
        throw err;
      }
      this.sink.log(`Adapted encoder loaded from ${path.basename(adaptedFolder)} (${overlaid.length} tensors); the rest of the model is as in ${config.model.source}.`);
    }
    const { report } = this.loaded;
    // A resumed run takes its weights from the checkpoint next: the head is not new, so say nothing of it.
    const resuming = this.job.resume && latestCheckpoint(this.job.runDir) !== null;
    if (report.initialised.length && !resuming) this.sink.log(`New classification head initialised: ${report.initialised.join(', ')}`);
    if (report.reinitialised.length && !resuming) this.sink.log(`Classification head re-initialised for ${config.labels.length} labels: ${report.reinitialised.join(', ')}`);
    if (report.ignored.length) this.sink.log(`Ignored ${report.ignored.length} checkpoint tensor(s) that classification does not use (e.g. ${report.ignored[0]}).`);
    return this.loaded;
  }

  /**
   * The masked-LM stage: continued pretraining of the encoder on the training texts (and the
   * extra unlabelled texts), checkpointed at each epoch end in <run>/mlm-stage, the adapted model
   * saved as <run>/mlm-model (a *ForMaskedLM folder). A finished stage (mlm-model present) is
   * skipped. Returns the adapted folder, or null when cancelled.
   */
  private async adaptEncoder(): Promise<string | null> {
    const { job, sink, signal } = this;
    const mlm = job.config.mlm!;
    const opts = job.config.options;
    const outDir = path.join(job.runDir, MLM_MODEL_DIR);
    const stageDir = path.join(job.runDir, MLM_STAGE_DIR);
    if (fs.existsSync(path.join(outDir, 'config.json'))) {
      sink.log('The masked-LM stage is already done: fine-tuning starts from the adapted model.');
      return outDir;
    }
    this.phase('loading', `Loading ${job.config.model.source} for masked-LM adaptation`);
    const texts = job.train.map((r) => r.text);
    if (mlm.extraTextsFile) {
      const extra = readUnlabelledTexts(mlm.extraTextsFile);
      sink.log(`Read ${extra.length} unlabelled texts from ${path.basename(mlm.extraTextsFile)}.`);
      texts.push(...extra);
    }
    const loaded = await loadMaskedLmFolder(job.config.model.path, { seed: opts.seed });
    const { model, tokenizer } = loaded;
    try {
      if (loaded.report.initialised.length) sink.log(`New masked-LM head initialised: ${loaded.report.initialised.join(', ')}`);
      const newHead = isNewMlmHead(model, loaded.report);
      if (newHead) sink.log('The masked-LM head is new: its vocabulary bias starts at the word frequencies of your texts, and the word embeddings stay as they are during this stage.');
      const learningRate = mlm.learningRate ?? (job.config.modelStart === 'scratch' ? MLM_SCRATCH_LEARNING_RATE : MLM_DEFAULT_LEARNING_RATE);
      const perEpoch = pretrainStepsPerEpoch(texts, opts.batchSize);
      const totalSteps = perEpoch * mlm.epochs;
      let startStep = 0;
      let optimizerState: { step: number; moments: Map<string, { m: Float32Array; v: Float32Array }> } | undefined;
      let priorSeconds = 0;
      const ckptDir = job.resume ? latestCheckpoint(stageDir) : null;
      if (!job.resume) fs.rmSync(stageDir, { recursive: true, force: true });
      if (ckptDir) {
        const ckpt = readCheckpoint(ckptDir);
        for (const name of model.store.names()) {
          const t = ckpt.weights.get(name);
          if (!t) throw new Error(`${ckptDir}: the masked-LM checkpoint lacks ${name}`);
          model.store.set(name, t.data);
        }
        startStep = ckpt.state.globalStep;
        optimizerState = { step: ckpt.state.globalStep, moments: ckpt.moments };
        priorSeconds = ckpt.state.trainingSeconds;
        sink.log(`Masked-LM stage resumed at step ${startStep} (epoch ${ckpt.state.epochsCompleted}).`);
      }
      sink.log(`Masked-LM adaptation: ${texts.length} texts, ${mlm.epochs} epoch(s), ${totalSteps} steps (${perEpoch} per epoch), learning rate ${learningRate}, ${Math.round((mlm.maskProbability ?? DEFAULT_MASKING.mlmProbability) * 100)} % of the tokens masked.`);
      const clock0 = performance.now();
      const elapsed = () => priorSeconds + (performance.now() - clock0) / 1000;
      let ema: number | null = null;
      let last = performance.now();
      this.phase('adapting', 'Adapting the model to your texts (masked-LM)', startStep, totalSteps, null);
      const result = await pretrainMaskedLm(
        model,
        tokenizer,
        texts,
        {
          epochs: mlm.epochs,
          batchSize: opts.batchSize,
          learningRate,
          weightDecay: opts.weightDecay,
          warmupRatio: opts.warmupRatio,
          maxGradNorm: opts.maxGradNorm,
          maxLength: opts.maxLength,
          seed: opts.seed,
          startStep,
          optimizerState,
          newHead,
          ...(mlm.maskProbability !== undefined ? { masking: { ...DEFAULT_MASKING, mlmProbability: mlm.maskProbability } } : {}),
        },
        async (p, optimizer) => {
          const now = performance.now();
          const dt = (now - last) / 1000;
          last = now;
          ema = ema === null ? dt : 0.9 * ema + 0.1 * dt;
          const eta = ema * (p.totalSteps - p.step);
          sink.step({
            stage: 'mlm',
            step: p.step,
            totalSteps: p.totalSteps,
            epoch: p.step / perEpoch,
            loss: p.loss,
            learningRate: p.learningRate,
            gradNorm: p.gradNorm,
            samplesPerSecond: dt > 0 ? opts.batchSize / dt : 0,
            tokensPerSecond: 0,
            etaSeconds: eta,
            elapsedSeconds: elapsed(),
          });
          this.phase('adapting', `Adapting the model to your texts (masked-LM loss ${p.loss.toFixed(3)})`, p.step, p.totalSteps, eta);
          if (p.step % perEpoch === 0 && p.step < p.totalSteps) {
            this.phase('checkpointing', `Writing the masked-LM checkpoint of epoch ${p.step / perEpoch}`);
            await readBack(model.store.names().map((n) => model.store.get(n)), this.kernels.backend);
            await optimizer.prefetchMoments(this.kernels.backend);
            const dir = writeCheckpoint(stageDir, {
              state: {
                version: 1,
                globalStep: p.step,
                epochsCompleted: p.step / perEpoch,
                bestMetric: null,
                bestStep: null,
                evalsWithoutImprovement: 0,
                seed: opts.seed,
                labels: [],
                trainingSeconds: elapsed(),
              },
              weights: model.store.names().map((n) => [n, { shape: model.store.get(n).shape.slice(), data: model.store.get(n).dataSync() as Float32Array }]),
              moments: optimizer.moments(),
              shapes: new Map(model.store.names().map((n) => [n, model.store.get(n).shape.slice()])),
            });
            sink.log(`Masked-LM checkpoint written at step ${p.step} (${path.relative(job.runDir, dir)}).`);
          }
        },
        signal,
        this.kernels,
      );
      sink.log(`Masked-LM loss by epoch: ${result.epochLosses.map((l) => (Number.isNaN(l) ? '-' : l.toFixed(3))).join(', ')} (${elapsed().toFixed(1)} s).`);
      this.phase('saving', 'Saving the adapted model');
      await readBack(model.store.names().map((n) => model.store.get(n)), this.kernels.backend);
      saveMaskedLmFolder(outDir, model, { tokenizer: tokenizer.files, sourceDir: job.config.model.path });
      removeDirSafely(stageDir);
      return outDir;
    } catch (err) {
      if (err instanceof PretrainCancelled) return null;
      throw err;
    } finally {
      model.dispose();
    }
  }

  private cancelledBeforeFineTuning(): TrainResult {
    return { status: 'cancelled', stoppedEarly: false, globalStep: 0, best: null, bestMetric: null, modelDir: null, predictionsFile: null, trainingSeconds: 0 };
  }

  /**
   * A fresh trainer state, or the newest checkpoint's: its weights set in the local model, its
   * optimizer step and moments returned for the engine.
   */
  private resumeOrStart(): { state: TrainerState; optimizer: { step: number; moments: Moments } | null } {
    const { job, sink } = this;
    const model = this.loaded!.model;
    const fresh: TrainerState = {
      version: 1,
      globalStep: 0,
      epochsCompleted: 0,
      bestMetric: null,
      bestStep: null,
      evalsWithoutImprovement: 0,
      seed: job.config.options.seed,
      labels: [...job.config.labels],
      trainingSeconds: 0,
    };
    if (!job.resume) return { state: fresh, optimizer: null };
    const dir = latestCheckpoint(job.runDir);
    if (!dir) {
      sink.log('No complete checkpoint yet: the run starts again from the beginning.');
      return { state: fresh, optimizer: null };
    }
    this.phase('loading', `Resuming from ${path.basename(dir)}`);
    const ckpt = readCheckpoint(dir);
    for (const name of model.store.names()) {
      const t = ckpt.weights.get(name);
      if (!t) throw new Error(`${dir}: the checkpoint lacks ${name}`);
      model.store.set(name, t.data);
    }
    sink.log(`Resumed at step ${ckpt.state.globalStep} (epoch ${ckpt.state.epochsCompleted}).`);
    return { state: ckpt.state, optimizer: { step: ckpt.state.globalStep, moments: ckpt.moments } };
  }

  /** The training and evaluation rows, tokenised once. */
  private async encodeSets(tokenizer: TextTokenizer): Promise<{ train: EncodedSet; evalSet: EncodedSet }> {
    const { job, signal } = this;
    const opts = job.config.options;
    const t0 = Date.now();
    const encProgress = (what: string) => (done: number, total: number) => this.phase('tokenising', `Tokenising ${what}`, done, total, null);
    const train = await encodeRows(tokenizer, job.train, opts.maxLength, encProgress('training rows'), signal);
    const evalSet = await encodeRows(tokenizer, job.eval, opts.maxLength, encProgress('evaluation rows'), signal);
    const truncated = train.lengths.filter((l) => l >= opts.maxLength).length;
    this.sink.log(`Tokenised ${train.labels.length} training and ${evalSet.labels.length} evaluation rows in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${truncated} training rows were truncated to ${opts.maxLength} tokens.`);
    return { train, evalSet };
  }

  /** The step plan (as the Trainer computes it) and the run's shared progress. */
  private startRun(model: SequenceClassifier, tokenizer: TextTokenizer, engine: TrainingEngine, state: TrainerState, train: EncodedSet, evalSet: EncodedSet): RunContext {
    const { job } = this;
    const opts = job.config.options;
    const accum = opts.gradientAccumulationSteps;
    const microPerEpoch = Math.ceil(train.labels.length / opts.batchSize);
    const stepsPerEpoch = Math.max(1, Math.ceil(microPerEpoch / accum));
    const totalSteps = Math.max(1, Math.ceil(opts.epochs * stepsPerEpoch));
    const warmup = warmupStepsFor(totalSteps, { ratio: opts.warmupRatio, steps: opts.warmupSteps });
    const epochsTotal = Math.ceil(totalSteps / stepsPerEpoch);
    this.sink.log(`${totalSteps} optimizer steps (${stepsPerEpoch} per epoch), ${warmup} warm-up.`);
    const existing = (name: string): string | null => (fs.existsSync(path.join(job.runDir, name)) ? path.join(job.runDir, name) : null);
    const startSeconds = state.trainingSeconds;
    const clock0 = performance.now();
    return {
      model,
      tokenizer,
      engine,
      state,
      train,
      evalSet,
      plan: { accum, stepsPerEpoch, totalSteps, warmup, epochsTotal },
      best: null,
      modelDir: existing(MODEL_DIR),
      predictionsFile: existing(PREDICTIONS_FILE),
      lastEvalStep: -1,
      stoppedEarly: false,
      emaStep: null,
      elapsed: () => startSeconds + (performance.now() - clock0) / 1000,
    };
  }

  /**
   * The optimizer steps of one epoch (from where a resumed run stopped), with the evaluations
   * every N steps: 'stopped' when early stopping ends the run inside the epoch.
   */
  private async trainEpoch(ctx: RunContext, epoch: number): Promise<'finished' | 'stopped' | 'cancelled'> {
    const opts = this.job.config.options;
    const { state, plan, train } = ctx;
    const batches = epochBatches(train.labels.length, opts.batchSize, opts.seed, epoch, train.lengths, opts.groupByLength);
    const firstStep = state.globalStep - epoch * plan.stepsPerEpoch;
    for (let s = Math.max(0, firstStep); s < plan.stepsPerEpoch && state.globalStep < plan.totalSteps; s++) {
      if (this.signal.aborted) return 'cancelled';
      await this.optimizerStep(ctx, batches.slice(s * plan.accum, (s + 1) * plan.accum));
      if (opts.evalEverySteps !== null && state.globalStep % opts.evalEverySteps === 0) {
        if (!(await this.evaluateAndKeepBest(ctx))) return 'cancelled';
        if (ctx.stoppedEarly) return 'stopped';
      }
      await new Promise((r) => setImmediate(r));
    }
    return 'finished';
  }

  /** One optimizer step over the micro-batches (gradient accumulation), reported to the sink. */
  private async optimizerStep(ctx: RunContext, microRows: readonly number[][]): Promise<void> {
    const opts = this.job.config.options;
    const { state, plan, train } = ctx;
    const t = performance.now();
    const micro = microRows.map((rows) => this.labeled(train, rows));
    const contexts = micro.map((_, i) => ({ training: true, seed: mixSeed(opts.seed, state.globalStep, i) }));
    const lr = linearScheduleLr(opts.learningRate, state.globalStep, plan.totalSteps, plan.warmup);
    const outcome = await ctx.engine.stepAsync(micro, contexts, lr);
    if (!Number.isFinite(outcome.loss)) {
      throw new Error(`the loss became ${outcome.loss} at step ${state.globalStep + 1}; lower the learning rate (now ${opts.learningRate})`);
    }
    state.globalStep++;
    const seconds = (performance.now() - t) / 1000;
    ctx.emaStep = ctx.emaStep === null ? seconds : 0.9 * ctx.emaStep + 0.1 * seconds;
    const rows = micro.reduce((a, b) => a + b.labels.length, 0);
    let tokens = 0;
    for (const rowsOf of microRows) for (const i of rowsOf) tokens += train.lengths[i]!;
    this.sink.step({
      stage: 'finetune',
      step: state.globalStep,
      totalSteps: plan.totalSteps,
      epoch: state.globalStep / plan.stepsPerEpoch,
      loss: outcome.loss,
      learningRate: lr,
      gradNorm: outcome.gradNorm,
      samplesPerSecond: rows / seconds,
      tokensPerSecond: tokens / seconds,
      etaSeconds: ctx.emaStep * (plan.totalSteps - state.globalStep),
      elapsedSeconds: ctx.elapsed(),
    });
  }

  /**
   * Evaluates at the current step; when the metric is the best so far, saves the model folder and
   * its evaluation predictions; counts evaluations without improvement for early stopping.
   * False when cancelled.
   */
  private async evaluateAndKeepBest(ctx: RunContext): Promise<boolean> {
    const { job, sink } = this;
    const opts = job.config.options;
    const { state, evalSet } = ctx;
    if (evalSet.labels.length === 0) return true;
    this.phase('evaluating', 'Evaluating', 0, evalSet.labels.length);
    const r = await this.evaluate(ctx.engine, evalSet, (done, total) => this.phase('evaluating', 'Evaluating', done, total));
    if (!r) return false;
    const metrics: EvalMetrics = {
      step: state.globalStep,
      epoch: state.globalStep / ctx.plan.stepsPerEpoch,
      evalLoss: r.evalLoss,
      accuracy: r.report.accuracy,
      macroF1: r.report.macroF1,
      perClass: r.report.perClass,
      confusion: r.report.confusion,
    };
    ctx.lastEvalStep = state.globalStep;
    const value = metricOf(metrics, opts.bestMetric);
    const isBest = isBetter(value, state.bestMetric, opts.bestMetric);
    if (isBest) {
      state.bestMetric = value;
      state.bestStep = state.globalStep;
      state.evalsWithoutImprovement = 0;
      ctx.best = metrics;
      this.phase('saving', 'Saving the best model');
      ctx.modelDir = path.join(job.runDir, MODEL_DIR);
      await ctx.engine.pullParams();
      saveModelFolder(ctx.modelDir, ctx.model, { sourceDir: job.config.model.path, tokenizer: ctx.tokenizer.files });
      ctx.predictionsFile = path.join(job.runDir, PREDICTIONS_FILE);
      writeEvalPredictions(ctx.predictionsFile, {
        texts: job.eval.map((row) => row.text),
        labels: evalSet.labels,
        predicted: r.predicted,
        probs: r.probs,
        numLabels: ctx.model.config.numLabels,
      });
    } else {
      state.evalsWithoutImprovement++;
    }
    sink.evaluation({ metrics, isBest, bestMetric: state.bestMetric!, bestMetricName: opts.bestMetric });
    if (opts.earlyStoppingPatience !== null && state.evalsWithoutImprovement >= opts.earlyStoppingPatience) {
      sink.log(`Stopping early: ${state.evalsWithoutImprovement} evaluation(s) without improvement of ${opts.bestMetric}.`);
      ctx.stoppedEarly = true;
    }
    return true;
  }

  /** The checkpoint at the end of an epoch, from which a resumed run continues exactly. */
  private async checkpoint(ctx: RunContext, epoch: number): Promise<void> {
    const { state, model } = ctx;
    await ctx.engine.pullParams();
    const optimizer = await ctx.engine.moments();
    if (optimizer.step !== state.globalStep) {
      throw new Error(`the engine's optimizer is at step ${optimizer.step} but the trainer at step ${state.globalStep}: the checkpoint would not resume exactly; restart the run from its last checkpoint`);
    }
    this.phase('checkpointing', `Writing the checkpoint of epoch ${epoch + 1}`);
    state.trainingSeconds = ctx.elapsed();
    const dir = writeCheckpoint(this.job.runDir, {
      state,
      weights: modelWeights(model),
      moments: optimizer.moments,
      shapes: new Map(model.store.names().map((n) => [n, model.store.get(n).shape.slice()])),
    });
    this.sink.checkpoint({ step: state.globalStep, epoch: state.epochsCompleted, path: dir });
  }

  private result(ctx: RunContext, status: TrainResult['status']): TrainResult {
    return {
      status,
      stoppedEarly: status === 'completed' && ctx.stoppedEarly,
      globalStep: ctx.state.globalStep,
      best: ctx.best,
      bestMetric: ctx.state.bestMetric,
      modelDir: ctx.modelDir,
      predictionsFile: ctx.predictionsFile,
      trainingSeconds: ctx.elapsed(),
    };
  }

  dispose(): void {
    this.loaded?.model.store.dispose();
    this.loaded = null;
  }
}
