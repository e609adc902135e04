/**
 * Throughput of a model on this machine and backend: a few timed training steps on real rows,
 * after one warm-up step (kernel set-up, allocation). Feeds the time-per-epoch estimate.
 */
import type { DatasetRow } from '../../shared/run-config';
import { batchTensors, disposeBatch, padRows } from './batch';
import type { Kernels } from './kernels';
import { loadModelFolder } from './load';
import { ForwardContext } from './models/layers';
import { mixSeed } from './rng';
import { Stepper } from './step';

export interface BenchmarkRequest {
  modelDir: string;
  labels: string[];
  rows: DatasetRow[];
  batchSize: number;
  maxLength: number;
  freezeEncoder: boolean;
  steps: number;
}

export async function benchmarkTraining(
  req: BenchmarkRequest,
  kernels: Kernels,
  signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<{ samplesPerSecond: number; tokensPerSecond: number }> {
  const { model, tokenizer } = await loadModelFolder(req.modelDir, { labels: req.labels });
  const stepper = new Stepper(model, { weightDecay: 0.01, maxGradNorm: 1, trainable: req.freezeEncoder ? model.headParams : undefined }, kernels);
  try {
    const encoded = req.rows.map((r) => ({ ...tokenizer.encode(r.text, req.maxLength), label: r.label }));
    const total = req.steps + 1;
    let seconds = 0;
    let samples = 0;
    let tokens = 0;
    for (let s = 0; s < total; s++) {
      if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
      const rows = Array.from({ length: req.batchSize }, (_, i) => encoded[(s * req.batchSize + i) % encoded.length]!);
      const batch = { tensors: batchTensors(padRows(rows, tokenizer.padId), model.config), labels: Int32Array.from(rows, (r) => r.label) };
      const t = performance.now();
      try {
        // A tiny learning rate: the weights barely move, the arithmetic is the real one.
        await stepper.stepAsync([batch], [new ForwardContext(true, mixSeed(7, s), kernels)], 1e-12);
      } finally {
        disposeBatch(batch.tensors);
      }
      if (s > 0) {
        seconds += (performance.now() - t) / 1000;
        samples += rows.length;
        tokens += rows.reduce((a, r) => a + r.ids.length, 0);
      }
      onProgress?.(s + 1, total);
      await new Promise((r) => setImmediate(r));
    }
    return { samplesPerSecond: samples / seconds, tokensPerSecond: tokens / seconds };
  } finally {
    stepper.dispose();
    model.store.dispose();
  }
}
