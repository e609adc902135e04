/**
 * What the trainer needs of the thing that holds the model's training state, so that it has one
 * code path whether that state is here (LocalEngine: a Stepper on this process's backend) or in
 * the engine window (window-stepper.ts RemoteStepper: the model and optimizer in a Chromium
 * renderer on WebGPU, reached over a MessagePort).
 *
 * Batches cross this interface as host arrays (batch.ts HostBatch) and forward contexts as
 * (training, seed) pairs, so either side can build its own tensors. The local model
 * (`model`) is always here: the trainer loads it from files and saves it; pullParams() brings it
 * up to date with the engine before every save.
 */
import { batchTensors, disposeBatch, type HostBatch } from './batch';
import { readBack, type Kernels } from './kernels';
import type { SequenceClassifier } from './models/index';
import { ForwardContext } from './models/layers';
import { predictLogitsAsync, Stepper, type LabeledBatch, type StepOptions, type StepOutcome } from './step';
import type { WireContext } from './window-protocol';

/** One micro-batch: padded host arrays and a class index per row. */
export interface EngineBatch {
  host: HostBatch;
  labels: Int32Array;
}

/** How a micro-batch's forward runs (dropout on with this seed, or off): what the protocol carries to the window as it is. */
export type EngineContext = WireContext;

/** AdamW's moments by parameter name. */
export type Moments = Map<string, { m: Float32Array; v: Float32Array }>;

export interface TrainingEngine {
  /** The model as loaded here: what is saved, once pullParams() has run. */
  readonly model: SequenceClassifier;
  /** One optimizer step over the micro-batches (summed gradients, clipping, AdamW). */
  stepAsync(micro: readonly EngineBatch[], contexts: readonly EngineContext[], learningRate: number): Promise<StepOutcome>;
  /** Eval-mode logits of a batch, flat [batchSize * numLabels]. */
  predictLogits(host: HostBatch): Promise<Float32Array>;
  /** Sets the optimizer's step count and moments (a resumed run). */
  restore(step: number, moments: Moments): Promise<void>;
  /** The optimizer's step count and moments (for a checkpoint; valid until the next step). */
  moments(): Promise<{ step: number; moments: Moments }>;
  /** Makes `model` hold the engine's current parameters (before a save or a checkpoint). */
  pullParams(): Promise<void>;
  /** Frees the engine's training state (the local model stays). */
  dispose(): Promise<void>;
}

/** The engine on this process's backend: a Stepper, with the same arithmetic the trainer always ran. */
export class LocalEngine implements TrainingEngine {
  readonly stepper: Stepper;

  constructor(
    readonly model: SequenceClassifier,
    options: Omit<StepOptions, 'learningRate'>,
    /** The started backend's kernels (backends/start.ts). */
    readonly kernels: Kernels,
  ) {
    this.stepper = new Stepper(model, options, kernels);
  }

  async stepAsync(micro: readonly EngineBatch[], contexts: readonly EngineContext[], learningRate: number): Promise<StepOutcome> {
    const batches: LabeledBatch[] = [];
    try {
      for (const m of micro) batches.push({ tensors: batchTensors(m.host, this.model.config), labels: m.labels });
      const forward = contexts.map((c) => new ForwardContext(c.training, c.seed, this.kernels));
      return await this.stepper.stepAsync(batches, forward, learningRate);
    } finally {
      for (const b of batches) disposeBatch(b.tensors);
    }
  }

  async predictLogits(host: HostBatch): Promise<Float32Array> {
    const tensors = batchTensors(host, this.model.config);
    try {
      return await predictLogitsAsync(this.model, tensors, this.kernels);
    } finally {
      disposeBatch(tensors);
    }
  }

  async restore(step: number, moments: Moments): Promise<void> {
    this.stepper.optimizer.restore(step, moments);
  }

  async moments(): Promise<{ step: number; moments: Moments }> {
    await this.stepper.optimizer.prefetchMoments(this.kernels.backend);
    return { step: this.stepper.optimizer.step, moments: this.stepper.optimizer.moments() };
  }

  /** The parameters are the model's own; on webgpu they are read back once so the savers can read them synchronously. */
  async pullParams(): Promise<void> {
    await readBack(
      this.model.store.names().map((n) => this.model.store.get(n)),
      this.kernels.backend,
    );
  }

  async dispose(): Promise<void> {
    this.stepper.dispose();
  }
}
