/**
 * A Stepper whose model and optimizer live in the engine window (window-protocol.ts): the
 * TrainingEngine (training-engine.ts) a trainer in Electron's utility process uses where WebGPU
 * exists only in a renderer (Trainer's `remote` option; worker.ts decides when). The local model
 * (loaded from files here, its head initialised here, a checkpoint's weights set here) is sent
 * once; steps and eval forwards run in the window; the optimizer's moments come back for each
 * checkpoint and go there on resume; pullParams() copies the window's parameters back into the
 * local model before the trainer saves or checkpoints.
 */
import type { HostBatch } from './batch';
import type { SequenceClassifier } from './models/index';
import type { StepOptions, StepOutcome } from './step';
import type { WeightMap } from '../hf/safetensors';
import type { CallOptions, EngineWindowClient } from './window-client';
import type { InitOptions, InitResult, WireContext } from './window-protocol';
import type { Moments, TrainingEngine } from './training-engine';

export interface RemoteStepperOptions extends Omit<StepOptions, 'learningRate'> {
  /** Accept a software WebGPU adapter (WebGPU asked for by name). */
  allowSoftware: boolean;
  /** Where the model came from, for messages. */
  source: string;
}

/** Sends the local model's parameters (copies) with init's options; the window must load them all as they are. */
async function sendModel(client: EngineWindowClient, model: SequenceClassifier, options: InitOptions, call?: CallOptions): Promise<InitResult> {
  const weights: WeightMap = new Map();
  for (const name of model.store.names()) {
    const spec = model.store.specs.get(name)!;
    weights.set(name, { dtype: 'F32', shape: [...spec.shape], data: Float32Array.from((await model.store.get(name).data()) as Float32Array) });
  }
  const init = await client.init(model.config, weights, options, call);
  if (init.initialised.length || init.reinitialised.length) {
    await client.dispose(call).catch(() => {});
    throw new Error(`the engine window initialised parameters the local model has (${[...init.initialised, ...init.reinitialised].join(', ')}): the config and the parameters disagree`);
  }
  return init;
}

/**
 * A model in the engine window for predictions only (the Predictor's remote forward,
 * inference.ts): the local model's parameters are sent once, no optimizer is made there, and each
 * padded batch's eval-mode logits come back.
 */
export class RemoteInference {
  protected constructor(
    protected readonly client: EngineWindowClient,
    readonly init: InitResult,
  ) {}

  static async open(client: EngineWindowClient, model: SequenceClassifier, options: { allowSoftware: boolean; source: string }, call?: CallOptions): Promise<RemoteInference> {
    const init = await sendModel(
      client,
      model,
      { weightDecay: 0, maxGradNorm: null, seed: 0, reinitialiseMismatchedHead: false, allowSoftware: options.allowSoftware, source: options.source, inference: true },
      call,
    );
    return new RemoteInference(client, init);
  }

  /** Eval-mode logits in the window: flat [batchSize * numLabels]. */
  predictLogits(host: HostBatch, call?: CallOptions): Promise<Float32Array> {
    return this.client.predict(host, call);
  }

  /** Frees the window's model (and its optimizer, for a RemoteStepper). */
  dispose(call?: CallOptions): Promise<void> {
    return this.client.dispose(call);
  }
}

export class RemoteStepper extends RemoteInference implements TrainingEngine {
  /** Live tensors in the window after the last step (growth between steps is a leak there). */
  windowTensors: number | null = null;

  private constructor(
    client: EngineWindowClient,
    readonly model: SequenceClassifier,
    init: InitResult,
  ) {
    super(client, init);
  }

  /** Sends the local model's current parameters (exactly: nothing is re-initialised in the window) and makes its optimizer there. */
  static override async open(client: EngineWindowClient, model: SequenceClassifier, options: RemoteStepperOptions, call?: CallOptions): Promise<RemoteStepper> {
    const init = await sendModel(
      client,
      model,
      {
        weightDecay: options.weightDecay,
        maxGradNorm: options.maxGradNorm,
        trainable: options.trainable ? [...options.trainable] : undefined,
        classWeights: options.classWeights ? [...options.classWeights] : null,
        seed: 0,
        reinitialiseMismatchedHead: false,
        allowSoftware: options.allowSoftware,
        source: options.source,
      },
      call,
    );
    return new RemoteStepper(client, model, init);
  }

  /** Stepper.stepAsync in the window: micro-batches as host arrays, one forward context each. */
  async stepAsync(micro: readonly { host: HostBatch; labels: Int32Array }[], contexts: readonly WireContext[], learningRate: number, call?: CallOptions): Promise<StepOutcome> {
    const { loss, gradNorm, clipCoef, numTensors } = await this.client.step(micro, contexts, learningRate, call);
    this.windowTensors = numTensors;
    return { loss, gradNorm, clipCoef };
  }

  /** Sets the window's optimizer step count and moments (a resumed run). */
  restore(step: number, moments: Moments, call?: CallOptions): Promise<void> {
    return this.client.restore(step, moments, call);
  }

  /** The window's optimizer step count and moments (copies), for a checkpoint. */
  moments(call?: CallOptions): Promise<{ step: number; moments: Moments }> {
    return this.client.moments(call);
  }

  /** Copies the window's parameters into the local model (before saving or a host-side eval). */
  async pullParams(call?: CallOptions): Promise<void> {
    const params = await this.client.params(undefined, call);
    for (const name of this.model.store.names()) {
      const p = params.get(name);
      if (!p) throw new Error(`the engine window did not return parameter ${name}`);
      this.model.store.set(name, p.data);
    }
  }
}
