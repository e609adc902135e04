/**
 * Predictions from a trained model folder: class probabilities for texts, in length-sorted
 * batches, with progress and cancel. Used by the CLI (eval, predict), the try-it box and batch
 * prediction (through the engine worker).
 */
import type { DatasetRow } from '../../shared/run-config';
import { activeKernels } from './backends/start';
import { batchTensors, disposeBatch, padRows } from './batch';
import type { Kernels } from './kernels';
import { maxSequenceLength } from '../hf/config';
import { loadModelFolder, type LoadedModel } from './load';
import { argmaxRows, classificationReport, meanCrossEntropy, softmaxRows, type ClassificationReport } from './metrics';
import { predictLogitsAsync } from './step';
import { nullRecord } from '../../shared/own';

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

export class Predictor {
  private constructor(
    readonly loaded: LoadedModel,
    /** The started backend's kernels (the host forward on native). */
    readonly kernels: Kernels,
  ) {}

  /** The model folder at dir; kernels default to those of the backend backends/start.ts made current. */
  static async load(dir: string, kernels: Kernels = activeKernels()): Promise<Predictor> {
    return new Predictor(await loadModelFolder(dir), kernels);
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
      const batch = batchTensors(padRows(rows.map((r) => encoded[r]!), tokenizer.padId), model.config);
      try {
        const l = await predictLogitsAsync(model, batch, this.kernels);
        rows.forEach((r, j) => out.set(l.subarray(j * k, (j + 1) * k), r * k));
      } finally {
        disposeBatch(batch);
      }
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

  dispose(): void {
    this.loaded.model.store.dispose();
  }
}
