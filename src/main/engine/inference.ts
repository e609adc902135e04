/**
 * Predictions from a trained model folder: class probabilities for texts, in length-sorted
 * batches, with progress and cancel. Used by the CLI (eval, predict), the try-it box and batch
 * prediction (through the engine worker).
 *
 * The tokenising, batching, ordering and softmax happen here; only the forward of each padded
 * batch has two places to run (PredictorForward): this process's backend, or, in Electron where
 * WebGPU exists only in a renderer, the engine window (Predictor.loadRemote; worker.ts decides
 * when, as for training).
 */
import type { DatasetRow } from '../../shared/run-config';
import { activeKernels } from './backends/start';
import { batchTensors, disposeBatch, padRows, type HostBatch } from './batch';
import type { Kernels } from './kernels';
import { maxSequenceLength } from '../hf/config';
import { loadModelFolder, type LoadedModel } from './load';
import { argmaxRows, classificationReport, meanCrossEntropy, softmaxRows, type ClassificationReport } from './metrics';
import { predictLogitsAsync } from './step';
import { nullRecord } from '../../shared/own';
import type { SequenceClassifier } from './models/index';
import type { CallOptions, EngineWindowClient } from './window-client';
import type { InitResult } from './window-protocol';
import { RemoteInference } from './window-stepper';

export interface Prediction {
  label: string;
  score: number;
  scores: Record<string, number>;
}

export interface PredictOptions {
  batchSize?: number;
  maxLength?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Where a Predictor's forward runs: eval-mode logits [batchSize * numLabels] of one padded batch. */
export interface PredictorForward {
  logits(host: HostBatch, signal?: AbortSignal): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The forward on this process's backend (predictLogitsAsync with the started backend's kernels). */
export function localForward(model: SequenceClassifier, kernels: Kernels): PredictorForward {
  return {
    async logits(host) {
      const batch = batchTensors(host, model.config);
      try {
        return await predictLogitsAsync(model, batch, kernels);
      } finally {
        disposeBatch(batch);
      }
    },
    dispose: async () => {},
  };
}

/** The engine window a Predictor runs its model in (worker.ts, as TrainerOptions.remote for training). */
export interface RemotePredictorOptions {
  client: EngineWindowClient;
  /** Accept a software WebGPU adapter (WebGPU asked for by name). */
  allowSoftware: boolean;
  /** Called once the window holds the model: its backend and adapter, for the backend report. */
  onReady?: (init: InitResult) => void;
  /** For the init call (a cancel while the model is sent). */
  call?: CallOptions;
}

export class Predictor {
  private constructor(
    readonly loaded: LoadedModel,
    private readonly forward: PredictorForward,
  ) {}

  /** The model folder at dir; kernels default to those of the backend backends/start.ts made current. */
  static async load(dir: string, kernels: Kernels = activeKernels()): Promise<Predictor> {
    const loaded = await loadModelFolder(dir);
    return new Predictor(loaded, localForward(loaded.model, kernels));
  }

  /**
   * The model folder at dir, read here (files, tokenizer) with its parameters sent to the engine
   * window once (no optimizer there); each batch's forward then runs in the window. dispose()
   * frees the window's model too.
   */
  static async loadRemote(dir: string, remote: RemotePredictorOptions): Promise<Predictor> {
    const loaded = await loadModelFolder(dir);
    let session: RemoteInference;
    try {
      session = await RemoteInference.open(remote.client, loaded.model, { allowSoftware: remote.allowSoftware, source: dir }, remote.call);
    } catch (err) {
      loaded.model.store.dispose();
      if (remote.call?.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
      throw err;
    }
    remote.onReady?.(session.init);
    return new Predictor(loaded, {
      logits: (host, signal) => session.predictLogits(host, { signal }),
      dispose: () => session.dispose(),
    });
  }

  get labels(): string[] {
    return this.loaded.model.config.id2label;
  }

  /** Logits [n * k] for texts, in the input order. */
  async logits(texts: readonly string[], options: PredictOptions = {}): Promise<Float32Array> {
    const { model, tokenizer } = this.loaded;
    const k = model.config.numLabels;
    const maxLength = Math.min(options.maxLength ?? 512, maxSequenceLength(model.config));
    const bs = options.batchSize ?? 32;
    const encoded = texts.map((t) => tokenizer.encode(t, maxLength));
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.ids.length - encoded[b]!.ids.length);
    const out = new Float32Array(texts.length * k);
    for (let i = 0; i < order.length; i += bs) {
      if (options.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
      const rows = order.slice(i, i + bs);
      let l: Float32Array;
      try {
        l = await this.forward.logits(padRows(rows.map((r) => encoded[r]!), tokenizer.padId), options.signal);
      } catch (err) {
        // A cancel while the engine window computes rejects its call: a cancel all the same.
        if (options.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
        throw err;
      }
      rows.forEach((r, j) => out.set(l.subarray(j * k, (j + 1) * k), r * k));
      options.onProgress?.(Math.min(order.length, i + bs), order.length);
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  async predict(texts: readonly string[], options: PredictOptions = {}): Promise<Prediction[]> {
    const k = this.labels.length;
    const probs = softmaxRows(await this.logits(texts, options), k);
    return texts.map((_, i) => {
      const row = probs.subarray(i * k, (i + 1) * k);
      let best = 0;
      for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
      const scores = nullRecord<number>();
      this.labels.forEach((l, j) => (scores[l] = row[j]!));
      return { label: this.labels[best]!, score: row[best]!, scores };
    });
  }

  async evaluate(rows: readonly DatasetRow[], options: PredictOptions = {}): Promise<ClassificationReport & { evalLoss: number }> {
    const k = this.labels.length;
    const logits = await this.logits(rows.map((r) => r.text), options);
    const labels = Int32Array.from(rows, (r) => r.label);
    const report = classificationReport(this.labels, labels, argmaxRows(logits, k));
    return { ...report, evalLoss: meanCrossEntropy(logits, labels, k) };
  }

  /** Frees the model here and, for a remote forward, in the engine window (whose failure is thrown after the local model is freed). */
  async dispose(): Promise<void> {
    this.loaded.model.store.dispose();
    await this.forward.dispose();
  }
}
