/**
 * The engine's side of the engine-window protocol (window-protocol.ts): it holds the model, its
 * Stepper and the started backend, and answers one request at a time in arrival order. It runs in
 * the engine window (a Chromium renderer, on WebGPU) and, in tests, in Node on any backend: it
 * imports only browser-safe engine modules (no node:, no files) and receives the backend start as
 * a function.
 */
import { batchTensors, disposeBatch } from './batch';
import type { Kernels } from './kernels';
import { createModel, loadWeights, type SequenceClassifier } from './models/index';
import { ForwardContext } from './models/layers';
import { predictLogitsAsync, Stepper, type LabeledBatch } from './step';
import { tf } from './tf';
import type { WeightMap } from '../hf/safetensors';
import { fromWireBatch, fromWireMoments, ownBuffer, toWireMoments, transferables, type EngineHello, type EngineReply, type EngineRequest, type AdapterAnswer, type InitResult, type WireTensor } from './window-protocol';

/** The port as the host sees it: a DOM MessagePort in the window, a fake in tests. */
export interface HostPort {
  postMessage(message: EngineReply | EngineHello, transfer: ArrayBuffer[]): void;
  onMessage(listener: (data: unknown) => void): void;
}

/** Starts the backend and makes it current: its kernels, or why it cannot run. */
export type BackendStarter = (options: { allowSoftware: boolean }) => Promise<Kernels | string>;

/** Asks for the WebGPU adapter without starting a backend (the page: navigator.gpu). */
export type AdapterQuery = () => Promise<AdapterAnswer>;

interface Session {
  model: SequenceClassifier;
  /** The optimizer's side; null for a model loaded for predictions only (InitOptions.inference). */
  stepper: Stepper | null;
}

function isRequest(data: unknown): data is EngineRequest {
  const d = data as { id?: unknown; type?: unknown } | null;
  return typeof d === 'object' && d !== null && typeof d.id === 'number' && typeof d.type === 'string';
}

export class EngineHost {
  private kernels: Kernels | null = null;
  private session: Session | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly port: HostPort,
    private readonly startBackend: BackendStarter,
    webgpu: boolean,
    /** The page passes its navigator.gpu query; without one, 'adapter' answers that this engine has none. */
    private readonly queryAdapter: AdapterQuery | null = null,
  ) {
    port.onMessage((data) => {
      if (!isRequest(data)) return;
      this.queue = this.queue.then(() => this.answer(data));
    });
    port.postMessage({ type: 'hello', webgpu }, []);
  }

  private async answer(request: EngineRequest): Promise<void> {
    let reply: EngineReply;
    try {
      reply = await this.handle(request);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { id: request.id, type: 'error', name: e.name, message: e.message };
    }
    this.port.postMessage(reply, transferables(reply));
  }

  private needSession(type: string): Session {
    if (!this.session) throw new Error(`the engine window has no model for '${type}': send 'init' first`);
    return this.session;
  }

  private needStepper(type: string): { model: SequenceClassifier; stepper: Stepper } {
    const { model, stepper } = this.needSession(type);
    if (!stepper) throw new Error(`the engine window's model was loaded for predictions only (init with inference): it has no optimizer for '${type}'`);
    return { model, stepper };
  }

  private async handle(request: EngineRequest): Promise<EngineReply> {
    switch (request.type) {
      case 'init':
        return { id: request.id, type: 'ready', result: await this.init(request) };
      case 'step': {
        const { model, stepper } = this.needStepper('step');
        const kernels = this.kernels!;
        if (request.micro.length === 0 || request.micro.length !== request.contexts.length) {
          throw new Error(`a step needs one context per micro-batch (got ${request.micro.length} batches, ${request.contexts.length} contexts)`);
        }
        const micro: LabeledBatch[] = [];
        let out: Awaited<ReturnType<Stepper['stepAsync']>>;
        try {
          for (const wire of request.micro) {
            const { host, labels } = fromWireBatch(wire);
            if (!labels) throw new Error('a training batch needs labels');
            micro.push({ tensors: batchTensors(host, model.config), labels });
          }
          const contexts = request.contexts.map((c) => new ForwardContext(c.training, c.seed, kernels));
          out = await stepper.stepAsync(micro, contexts, request.learningRate);
        } finally {
          for (const b of micro) disposeBatch(b.tensors);
        }
        return { id: request.id, type: 'stepped', result: { ...out, numTensors: tf.memory().numTensors } };
      }
      case 'predict': {
        const { model } = this.needSession('predict');
        const { host } = fromWireBatch(request.batch);
        const tensors = batchTensors(host, model.config);
        try {
          const logits = await predictLogitsAsync(model, tensors, this.kernels!);
          return { id: request.id, type: 'logits', logits: ownBuffer(logits), numLabels: model.config.numLabels };
        } finally {
          disposeBatch(tensors);
        }
      }
      case 'params': {
        const { model } = this.needSession('params');
        const names = request.names ?? model.store.names();
        const params: WireTensor[] = [];
        for (const name of names) {
          if (!model.store.specs.has(name)) throw new Error(`the model has no parameter ${name}`);
          const v = model.store.get(name);
          params.push({ name, shape: [...v.shape], data: ownBuffer(Float32Array.from((await v.data()) as Float32Array)) });
        }
        return { id: request.id, type: 'params', params };
      }
      case 'moments': {
        const { stepper } = this.needStepper('moments');
        await stepper.optimizer.prefetchMoments(this.kernels!.backend);
        // Copies: on the host backends moments() hands out the optimizer's own arrays.
        return { id: request.id, type: 'moments', step: stepper.optimizer.step, moments: toWireMoments(stepper.optimizer.moments()) };
      }
      case 'restore': {
        const { stepper } = this.needStepper('restore');
        if (!Number.isInteger(request.step) || request.step < 0) throw new Error(`cannot restore the optimizer to step ${request.step}: a step count is a whole number >= 0`);
        const moments = fromWireMoments(request.moments);
        for (const [name, { m, v }] of moments) {
          if (m.length !== v.length) throw new Error(`optimizer state for ${name} has ${m.length} first and ${v.length} second moments`);
        }
        stepper.optimizer.restore(request.step, moments);
        return { id: request.id, type: 'restored' };
      }
      case 'dispose':
        this.disposeSession();
        return { id: request.id, type: 'disposed' };
      case 'adapter': {
        const adapter: AdapterAnswer = this.queryAdapter ? await this.queryAdapter() : { ok: false, why: 'no-navigator-gpu', reason: 'this engine has no WebGPU adapter query' };
        return { id: request.id, type: 'adapter', adapter };
      }
      default:
        throw new Error(`unknown request type '${(request as { type: string }).type}'`);
    }
  }

  private async init(request: Extract<EngineRequest, { type: 'init' }>): Promise<InitResult> {
    if (!this.kernels) {
      const started = await this.startBackend({ allowSoftware: request.options.allowSoftware });
      if (typeof started === 'string') throw new Error(`the engine window cannot ${request.options.inference ? 'run the model' : 'train'}: ${started}`);
      this.kernels = started;
    }
    this.disposeSession();
    const weights: WeightMap = new Map(request.weights.map((w) => [w.name, { dtype: 'F32', shape: w.shape, data: new Float32Array(w.data) }]));
    const model = createModel(request.config);
    try {
      const report = loadWeights(model, weights, {
        seed: request.options.seed,
        reinitialiseMismatchedHead: request.options.reinitialiseMismatchedHead,
        source: request.options.source,
      });
      const { weightDecay, maxGradNorm, trainable, classWeights, inference } = request.options;
      const stepper = inference ? null : new Stepper(model, { weightDecay, maxGradNorm, trainable, classWeights }, this.kernels);
      this.session = { model, stepper };
      return {
        backend: this.kernels.backend,
        device: this.kernels.device ?? this.kernels.backend,
        loaded: report.loaded,
        initialised: report.initialised,
        reinitialised: report.reinitialised,
      };
    } catch (err) {
      model.store.dispose();
      throw err;
    }
  }

  private disposeSession(): void {
    if (!this.session) return;
    this.session.stepper?.dispose();
    this.session.model.store.dispose();
    this.session = null;
  }
}
