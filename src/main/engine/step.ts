/**
 * One optimisation step as the Trainer does it: forward, cross-entropy (optionally class-
 * weighted), backward over the trainable parameters (gradients summed over accumulation
 * micro-batches, each loss divided by their count), global-norm clipping, AdamW.
 */
import type { Kernels } from './kernels';
import { tf } from './tf';
import type { BatchTensors } from './models/layers';
import { epilogueActivation, ForwardContext } from './models/layers';
import type { SequenceClassifier } from './models/index';
import { decayParameterNames } from './models/index';
import { AdamW, type OptimizedParam, TRAINER_ADAMW } from './optimizer';
import { hostInputs, hostRuntime } from './models/host';

export interface LabeledBatch {
  tensors: BatchTensors;
  /** Class index per row. */
  labels: Int32Array;
}

/**
 * torch.nn.functional.cross_entropy: mean of -log softmax at the label; with class weights,
 * sum(w[y] * nll) / sum(w[y]).
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, classWeights: tf.Tensor1D | null): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1);
    const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]), logp), -1));
    if (!classWeights) return tf.mean(nll) as tf.Scalar;
    const w = tf.gather(classWeights, labels);
    return tf.div(tf.sum(tf.mul(w, nll)), tf.sum(w)) as tf.Scalar;
  });
}

export interface StepOptions {
  learningRate: number;
  weightDecay: number;
  maxGradNorm: number | null;
  /** Train only these parameters (quick mode); default all. */
  trainable?: readonly string[];
  classWeights?: readonly number[] | null;
}

export interface StepOutcome {
  /** Mean loss over the micro-batches (before the optimizer step). */
  loss: number;
  gradNorm: number;
  clipCoef: number;
}

/** Holds the optimizer and trainable set of a model for a training session. */
export class Stepper {
  readonly optimizer: AdamW;
  readonly params: OptimizedParam[];
  private readonly classWeights: tf.Tensor1D | null;

  constructor(
    readonly model: SequenceClassifier,
    readonly options: Omit<StepOptions, 'learningRate'>,
    /** The started backend's kernels (the optimizer's update and gradient norm). */
    readonly kernels: Kernels,
  ) {
    const decay = new Set(decayParameterNames(model));
    const names = options.trainable ?? model.store.names();
    this.params = names.map((name) => ({ name, variable: model.store.get(name), decay: decay.has(name) }));
    this.optimizer = new AdamW(this.params, { ...TRAINER_ADAMW, weightDecay: options.weightDecay }, kernels);
    this.classWeights = options.classWeights ? tf.tensor1d(Float32Array.from(options.classWeights)) : null;
  }

  /** Forward + backward of the micro-batches: summed gradients by HF name, mean loss. */
  gradients(micro: readonly LabeledBatch[], contexts: readonly ForwardContext[]): { loss: number; grads: Map<string, tf.Tensor> } {
    const { losses, grads } = this.gradientTensors(micro, contexts);
    let lossSum = 0;
    for (const l of losses) {
      lossSum += l.value.dataSync()[0]! / l.scale;
      l.value.dispose();
    }
    return { loss: lossSum / micro.length, grads };
  }

  /** gradients() for backends that read asynchronously (webgpu): the loss is awaited, not synced. */
  async gradientsAsync(micro: readonly LabeledBatch[], contexts: readonly ForwardContext[]): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
    const { losses, grads } = this.gradientTensors(micro, contexts);
    let lossSum = 0;
    for (const l of losses) {
      lossSum += (await l.value.data())[0]! / l.scale;
      l.value.dispose();
    }
    return { loss: lossSum / micro.length, grads };
  }

  /** The summed gradients and each micro-batch's scaled loss tensor with its scale (the caller reads and disposes them). */
  private gradientTensors(micro: readonly LabeledBatch[], contexts: readonly ForwardContext[]): { losses: { value: tf.Tensor; scale: number }[]; grads: Map<string, tf.Tensor> } {
    const vars = this.params.map((p) => p.variable);
    const grads = new Map<string, tf.Tensor>();
    const losses: { value: tf.Tensor; scale: number }[] = [];
    micro.forEach((batch, i) => {
      const labels = tf.tensor1d(batch.labels, 'int32');
      const scale = 1 / micro.length;
      const { value, grads: g } = tf.variableGrads(
        () => tf.mul(crossEntropy(this.model.logits(batch.tensors, contexts[i]!), labels, this.classWeights), scale) as tf.Scalar,
        vars,
      );
      losses.push({ value, scale });
      labels.dispose();
      for (const [varName, grad] of Object.entries(g)) {
        const name = this.model.store.hfName(varName);
        const prev = grads.get(name);
        if (prev) {
          grads.set(name, tf.add(prev, grad));
          prev.dispose();
          grad.dispose();
        } else {
          grads.set(name, grad);
        }
      }
    });
    return { losses, grads };
  }

  /** A full optimizer step; disposes the gradients. */
  step(micro: readonly LabeledBatch[], contexts: readonly ForwardContext[], learningRate: number): StepOutcome {
    const { loss, grads } = this.gradients(micro, contexts);
    try {
      const { gradNorm, clipCoef } = this.optimizer.clip(grads, this.options.maxGradNorm);
      this.optimizer.apply(grads, learningRate, clipCoef);
      return { loss, gradNorm, clipCoef };
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  }

  /**
   * step() through asynchronous reads, for every backend (the trainer's path): on webgpu the loss
   * and the gradient norm are awaited (no synchronous readback there); on the CPU backends it is
   * the same arithmetic in the same order. Then the backend's after-step hook (device errors,
   * buffer-pool trim).
   */
  async stepAsync(micro: readonly LabeledBatch[], contexts: readonly ForwardContext[], learningRate: number): Promise<StepOutcome> {
    if (this.kernels.backend !== 'webgpu') return this.step(micro, contexts, learningRate);
    const { loss, grads } = await this.gradientsAsync(micro, contexts);
    try {
      const { gradNorm, clipCoef } = await this.optimizer.clipAsync(grads, this.options.maxGradNorm);
      this.optimizer.apply(grads, learningRate, clipCoef);
      return { loss, gradNorm, clipCoef };
    } finally {
      for (const g of grads.values()) g.dispose();
      this.kernels.afterStep?.();
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.classWeights?.dispose();
  }
}

/**
 * Eval-mode forward without gradients: logits as a flat Float32Array [B * numLabels]. On the
 * native backend it runs on host arrays straight into the kernels (models/host.ts).
 */
export function predictLogits(model: SequenceClassifier, batch: BatchTensors, kernels: Kernels): Float32Array {
  const rt = hostRuntime(kernels);
  if (rt && epilogueActivation(model.config.hiddenAct)) return model.logitsHost(rt, hostInputs(batch));
  return Float32Array.from(tf.tidy(() => model.logits(batch, new ForwardContext(false, 0, kernels)).dataSync() as Float32Array));
}

/** predictLogits for every backend, reading asynchronously where the backend needs it (webgpu). */
export async function predictLogitsAsync(model: SequenceClassifier, batch: BatchTensors, kernels: Kernels): Promise<Float32Array> {
  if (kernels.backend !== 'webgpu') return predictLogits(model, batch, kernels);
  const logits = tf.tidy(() => model.logits(batch, new ForwardContext(false, 0, kernels)));
  try {
    return Float32Array.from((await logits.data()) as Float32Array);
  } finally {
    logits.dispose();
    kernels.afterStep?.();
  }
}
