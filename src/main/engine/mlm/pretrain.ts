/**
 * Continued pretraining (masked LM) on a list of texts, Trainer-style: texts tokenised line by
 * line (run_mlm.py --line_by_line), shuffled each epoch, masks drawn anew for every batch,
 * dropout on, AdamW with linear warm-up and decay, global-norm clipping. Every random choice
 * derives from (seed, epoch, step), so a run resumed at a step draws what the uninterrupted run
 * drew (the caller restores the weights and optimizer state, e.g. from a checkpoint).
 */
import { ForwardContext } from '../models/layers';
import { type AdamW, linearScheduleLr, warmupStepsFor } from '../optimizer';
import { mixSeed, Rng } from '../rng';
import type { TextTokenizer } from '../tokenizer';
import { maxSequenceLength } from '../../hf/config';
import type { Kernels } from '../kernels';
import { activeKernels } from '../backends/start';
import { collateMlm, DEFAULT_MASKING, encodeForMlm, type MaskingProbabilities, type MlmRow, mlmVocabulary } from './collator';
import type { MaskedLanguageModel } from './model';
import { disposeMlmBatch, mlmBatchTensors, MlmLossMeter, MlmStepper } from './step';

export interface PretrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  warmupRatio?: number;
  maxGradNorm: number | null;
  maxLength: number;
  seed: number;
  masking?: MaskingProbabilities;
  /** Global step to start from (resume); earlier steps are skipped without drawing. */
  startStep?: number;
  /** AdamW state to resume from (AdamW.step and moments, as a checkpoint holds them). */
  optimizerState?: { step: number; moments: Map<string, { m: Float32Array; v: Float32Array }> };
  /**
   * The masked-LM head was created, not loaded (isNewMlmHead): its vocabulary bias starts at the
   * log unigram prior of the texts (on a fresh start; a resumed run has it from its checkpoint) and
   * the word embeddings stay frozen for the whole stage. A deliberate departure from transformers,
   * which trains a new head's zero bias and the tied embeddings together: on a model from scratch
   * the tied decoder gives every row a gradient and pulls the embeddings of rare and unseen words
   * towards one shared direction (measured, bert-tiny from scratch, one epoch on TREC: mean
   * pairwise cosine 0 -> 0.71 for words seen 1-3 times, 0 -> 0.76 for unseen ones, 0 -> 0.01 for
   * frequent ones; scripts/mlm-embedding-cosine.py). Off: transformers.
   */
  newHead?: boolean;
}

export interface PretrainProgress {
  epoch: number;
  /** Global optimizer step just taken (1-based). */
  step: number;
  totalSteps: number;
  /** The step's loss, NaN-filtered as the Trainer logs it. */
  loss: number;
  gradNorm: number;
  learningRate: number;
  targets: number;
}

export interface PretrainResult {
  steps: number;
  /** Mean logged loss of each epoch. */
  epochLosses: number[];
}

/** Seeds of one step's randomness (shared with a resumed run). */
export const pretrainSeeds = (seed: number, epoch: number, step: number): { masks: number; dropout: number } => ({
  masks: mixSeed(seed, epoch, step, 1),
  dropout: mixSeed(seed, epoch, step, 2),
});

/** Optimizer steps per epoch for these texts (empty texts are skipped, as tokenizeForPretraining does). */
export function pretrainStepsPerEpoch(texts: readonly string[], batchSize: number): number {
  return Math.ceil(texts.filter((t) => t.trim().length > 0).length / batchSize);
}

export function tokenizeForPretraining(tokenizer: TextTokenizer, texts: readonly string[], maxLength: number): MlmRow[] {
  return texts.filter((t) => t.trim().length > 0).map((t) => encodeForMlm(tokenizer, t, maxLength));
}

/** Add-k smoothing of the unigram prior (every vocabulary entry counts k times more than seen). */
export const PRIOR_SMOOTHING = 1;

/**
 * log P(token) over the tokens the objective predicts (every non-special token of the rows),
 * add-k smoothed over the whole vocabulary: log((count + k) / (total + k * vocabSize)).
 */
export function logUnigramPrior(rows: readonly MlmRow[], vocabSize: number, smoothing = PRIOR_SMOOTHING): Float32Array {
  const counts = new Float64Array(vocabSize);
  let total = 0;
  for (const r of rows) {
    r.ids.forEach((id, i) => {
      if (r.specialTokensMask[i] || id < 0 || id >= vocabSize) return;
      counts[id]!++;
      total++;
    });
  }
  const denominator = total + smoothing * vocabSize;
  return Float32Array.from(counts, (c) => Math.log((c + smoothing) / denominator));
}

/** The parameters the stage trains: all, or all but the word embeddings with a new head (PretrainOptions.newHead). */
export function pretrainTrainable(model: MaskedLanguageModel, newHead: boolean): string[] {
  return model.store.names().filter((n) => !(newHead && n === model.wordEmbedding));
}

export class PretrainCancelled extends Error {
  readonly code = 'cancelled';
  constructor() {
    super('masked-LM pretraining was cancelled');
    this.name = 'PretrainCancelled';
  }
}

/** Runs the epochs (or the rest of them, from startStep), yielding to the event loop after every step (a cancel message is heard). */
export async function pretrainMaskedLm(
  model: MaskedLanguageModel,
  tokenizer: TextTokenizer,
  texts: readonly string[],
  options: PretrainOptions,
  /** After every optimizer step (progress, live loss chart; the optimizer for checkpoints). */
  onStep?: (p: PretrainProgress, optimizer: AdamW) => void | Promise<void>,
  signal?: AbortSignal,
  /** The started backend's kernels (backends/start.ts); the current backend's by default. */
  kernels: Kernels = activeKernels(),
): Promise<PretrainResult> {
  const maxLength = Math.min(options.maxLength, maxSequenceLength(model.config));
  const rows = tokenizeForPretraining(tokenizer, texts, maxLength);
  if (rows.length === 0) throw new RangeError('no text to pretrain on (every text is empty)');
  const vocab = mlmVocabulary(tokenizer, model.config.vocabSize);
  const perEpoch = Math.ceil(rows.length / options.batchSize);
  const totalSteps = perEpoch * options.epochs;
  const warmup = warmupStepsFor(totalSteps, { ratio: options.warmupRatio ?? 0 });
  if (options.newHead && !(options.startStep ?? 0)) model.store.set(model.head.bias, logUnigramPrior(rows, model.config.vocabSize));
  const stepper = new MlmStepper(
    model,
    { weightDecay: options.weightDecay, maxGradNorm: options.maxGradNorm, trainable: options.newHead ? pretrainTrainable(model, true) : undefined },
    kernels,
  );
  if (options.optimizerState) stepper.optimizer.restore(options.optimizerState.step, options.optimizerState.moments);
  const epochLosses: number[] = [];
  const meter = new MlmLossMeter();
  let step = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = new Rng(mixSeed(options.seed, epoch)).permutation(rows.length);
      let sum = 0;
      let count = 0;
      for (let i = 0; i < perEpoch; i++, step++) {
        if (step < (options.startStep ?? 0)) continue;
        if (signal?.aborted) throw new PretrainCancelled();
        const seeds = pretrainSeeds(options.seed, epoch, i);
        const chosen = order.slice(i * options.batchSize, (i + 1) * options.batchSize).map((k) => rows[k]!);
        const collated = collateMlm(chosen, vocab, new Rng(seeds.masks), options.masking ?? DEFAULT_MASKING);
        const batch = mlmBatchTensors(collated.host, collated.labels, model.config);
        const lr = linearScheduleLr(options.learningRate, step, totalSteps, warmup);
        try {
          const out = await stepper.stepAsync([batch], [new ForwardContext(true, seeds.dropout, kernels)], lr);
          const loss = meter.add(out.loss);
          sum += loss;
          count++;
          await onStep?.({ epoch, step: step + 1, totalSteps, loss, gradNorm: out.gradNorm, learningRate: lr, targets: out.targets }, stepper.optimizer);
        } finally {
          disposeMlmBatch(batch);
        }
        await new Promise((r) => setImmediate(r));
      }
      epochLosses.push(count ? sum / count : Number.NaN);
    }
  } finally {
    stepper.dispose();
  }
  return { steps: step, epochLosses };
}
