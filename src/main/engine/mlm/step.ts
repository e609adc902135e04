/**
 * The masked-LM train step on the engine's own step machinery (Stepper: forward, cross-entropy,
 * backward, global-norm clipping, AdamW with Trainer's decay groups). The MLM batch hands the
 * model the flat positions of its targets; the model returns logits there only ([n, vocab]), and
 * the targets' original ids are the labels, so Stepper's mean cross-entropy is exactly
 * CrossEntropyLoss over the positions whose label is not -100. The decoder is computed at the
 * targets only, which is exact (other positions influence neither loss nor gradients).
 *
 * A batch without any target: the loss is NaN (0 / 0) but every gradient is 0, and the step still
 * applies AdamW's momentum and weight decay, as torch does.
 */
import { tf } from '../tf';
import type { ModelConfig } from '../../hf/config';
import type { Kernels } from '../kernels';
import { batchTensors, disposeBatch, type HostBatch } from '../batch';
import { ForwardContext } from '../models/layers';
import { Stepper, type LabeledBatch, type StepOptions, type StepOutcome } from '../step';
import { IGNORE_INDEX } from './collator';
import type { MaskedLanguageModel, MlmBatchTensors } from './model';

export interface MlmLabeledBatch extends LabeledBatch {
  tensors: MlmBatchTensors;
  /** The original id of every target, in row-major order. */
  labels: Int32Array;
}

/** Tensors of one collated batch; labels [B*T] with -100 where there is no target. The caller disposes (disposeMlmBatch). */
export function mlmBatchTensors(host: HostBatch, labels: ArrayLike<number>, config: ModelConfig): MlmLabeledBatch {
  if (labels.length !== host.batchSize * host.seqLen) throw new RangeError(`labels have ${labels.length} entries, the batch ${host.batchSize * host.seqLen}`);
  const index: number[] = [];
  const targets: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l === IGNORE_INDEX) continue;
    if (l < 0 || l >= config.vocabSize) throw new RangeError(`label ${l} at position ${i} is outside the vocabulary (${config.vocabSize})`);
    index.push(i);
    targets.push(l);
  }
  const base = batchTensors(host, config);
  const tensors: MlmBatchTensors = { ...base, targetIndex: tf.tensor1d(Int32Array.from(index), 'int32'), targets: index.length };
  return { tensors, labels: Int32Array.from(targets) };
}

export function disposeMlmBatch(batch: MlmLabeledBatch): void {
  disposeBatch(batch.tensors);
  batch.tensors.targetIndex.dispose();
}

export interface MlmStepOutcome extends StepOutcome {
  /** Targets in the step's batches (0: loss is NaN, gradients zero). */
  targets: number;
}

/** Holds the optimizer of a masked-LM training session. */
export class MlmStepper {
  readonly stepper: Stepper;

  constructor(
    readonly model: MaskedLanguageModel,
    options: Omit<StepOptions, 'learningRate' | 'classWeights'>,
    kernels: Kernels,
  ) {
    this.stepper = new Stepper(model, { ...options, classWeights: null }, kernels);
  }

  get optimizer() {
    return this.stepper.optimizer;
  }

  /** Summed gradients by HF name and the mean loss; zero gradients (and NaN loss) for a batch without targets. */
  gradients(micro: readonly MlmLabeledBatch[], contexts: readonly ForwardContext[]): { loss: number; grads: Map<string, tf.Tensor>; targets: number } {
    const plan = this.plan(micro, contexts);
    return this.combine(plan, plan.withTargets.length ? this.stepper.gradients(plan.withTargets, plan.contexts) : null);
  }

  /** gradients() reading the loss asynchronously (webgpu). */
  async gradientsAsync(micro: readonly MlmLabeledBatch[], contexts: readonly ForwardContext[]): Promise<{ loss: number; grads: Map<string, tf.Tensor>; targets: number }> {
    const plan = this.plan(micro, contexts);
    return this.combine(plan, plan.withTargets.length ? await this.stepper.gradientsAsync(plan.withTargets, plan.contexts) : null);
  }

  /** Which micro-batches have targets (the others add zero gradients) and their contexts. */
  private plan(micro: readonly MlmLabeledBatch[], contexts: readonly ForwardContext[]) {
    const targets = micro.reduce((s, b) => s + b.tensors.targets, 0);
    const withTargets = micro.filter((b) => b.tensors.targets > 0);
    const ctx = micro.map((b, i) => (b.tensors.targets > 0 ? contexts[i]! : null)).filter((c): c is ForwardContext => c !== null);
    return { targets, withTargets, contexts: ctx, all: withTargets.length === micro.length, scale: withTargets.length / micro.length };
  }

  private combine(
    plan: ReturnType<MlmStepper['plan']>,
    r: { loss: number; grads: Map<string, tf.Tensor> } | null,
  ): { loss: number; grads: Map<string, tf.Tensor>; targets: number } {
    if (plan.all && r) return { ...r, targets: plan.targets };
    // Micro-batches without targets add zero gradients; the others keep Trainer's 1 / count scale.
    const grads = new Map<string, tf.Tensor>();
    if (r) {
      for (const [name, g] of r.grads) {
        grads.set(name, tf.mul(g, plan.scale));
        g.dispose();
      }
    }
    for (const p of this.stepper.params) if (!grads.has(p.name)) grads.set(p.name, tf.zerosLike(p.variable));
    // The mean over micro-batches includes a NaN one, as torch's would.
    return { loss: Number.NaN, grads, targets: plan.targets };
  }

  /** A full optimizer step at the given learning rate; disposes the gradients. */
  step(micro: readonly MlmLabeledBatch[], contexts: readonly ForwardContext[], learningRate: number): MlmStepOutcome {
    const { loss, grads, targets } = this.gradients(micro, contexts);
    try {
      const { gradNorm, clipCoef } = this.optimizer.clip(grads, this.stepper.options.maxGradNorm);
      this.optimizer.apply(grads, learningRate, clipCoef);
      return { loss, gradNorm, clipCoef, targets };
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  }

  /** step() through asynchronous reads where the backend needs them (webgpu); the same arithmetic elsewhere. */
  async stepAsync(micro: readonly MlmLabeledBatch[], contexts: readonly ForwardContext[], learningRate: number): Promise<MlmStepOutcome> {
    const kernels = this.stepper.kernels;
    if (kernels.backend !== 'webgpu') return this.step(micro, contexts, learningRate);
    const { loss, grads, targets } = await this.gradientsAsync(micro, contexts);
    try {
      const { gradNorm, clipCoef } = await this.optimizer.clipAsync(grads, this.stepper.options.maxGradNorm);
      this.optimizer.apply(grads, learningRate, clipCoef);
      return { loss, gradNorm, clipCoef, targets };
    } finally {
      for (const g of grads.values()) g.dispose();
      kernels.afterStep?.();
    }
  }

  dispose(): void {
    this.stepper.dispose();
  }
}

/** Eval-mode masked-LM loss of one batch (NaN without targets). */
export function mlmLoss(model: MaskedLanguageModel, batch: MlmLabeledBatch, kernels: Kernels): number {
  if (batch.tensors.targets === 0) return Number.NaN;
  return tf.tidy(() => {
    const logits = model.logits(batch.tensors, new ForwardContext(false, 0, kernels));
    const logp = tf.logSoftmax(logits, -1);
    const picked = tf.sum(tf.mul(tf.oneHot(tf.tensor1d(batch.labels, 'int32'), logits.shape[1]), logp), -1);
    return tf.neg(tf.mean(picked)).dataSync()[0]!;
  });
}

/**
 * Trainer's logging_nan_inf_filter: a NaN / inf step loss (a batch without targets) is replaced
 * by the mean of the finite losses logged so far, so it never shows as NaN.
 */
export class MlmLossMeter {
  private sum = 0;
  private count = 0;

  add(loss: number): number {
    const value = Number.isFinite(loss) ? loss : this.count ? this.sum / this.count : 0;
    this.sum += value;
    this.count++;
    return value;
  }

  mean(): number {
    return this.count ? this.sum / this.count : Number.NaN;
  }
}
