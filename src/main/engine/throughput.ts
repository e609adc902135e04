/**
 * Training and inference throughput of a randomly initialised BERT-shaped model on the current
 * backend: what `npm run bench` (bench/train-bench.mjs) and the GPU bench (scripts/gpu-bench/)
 * measure. A training step is the trainer's (forward, cross-entropy, backward, global-norm clip,
 * AdamW) through stepAsync, so backends that read asynchronously (webgpu) are timed the same way;
 * each timed step ends with its loss read back, so queued GPU work is inside the timing.
 */
import { parseModelConfig } from '../hf/config';
import { batchTensors, disposeBatch, padRows } from './batch';
import type { Kernels } from './kernels';
import { ForwardContext } from './models/layers';
import { createModel, initialiseModel } from './models/index';
import { Rng } from './rng';
import { predictLogitsAsync, Stepper } from './step';
import { tf } from './tf';

export interface ThroughputShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocab: number;
  batch: number;
  seq: number;
}

export const SHAPES: Record<'bert-mini' | 'bert-base', Omit<ThroughputShape, 'batch' | 'seq'>> = {
  'bert-mini': { layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocab: 30522 },
  'bert-base': { layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocab: 30522 },
};

export interface ThroughputResult {
  train_step_s_median: number;
  train_step_s_spread: [number, number];
  train_samples_per_s: number;
  infer_step_s_median: number;
  infer_samples_per_s: number;
  tensors_after: number;
  steps: number;
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: (i: number) => Promise<unknown>, n: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    ts.push((performance.now() - t) / 1000);
  }
  return ts;
}

export async function measureThroughput(shape: ThroughputShape, kernels: Kernels, options: { steps: number; warmup: number }): Promise<ThroughputResult> {
  const config = parseModelConfig({
    model_type: 'bert', vocab_size: shape.vocab, hidden_size: shape.hidden, num_hidden_layers: shape.layers, num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate, hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, num_labels: 4,
  });
  const model = createModel(config);
  initialiseModel(model, 0);
  const rng = new Rng(1);
  const rows = Array.from({ length: shape.batch }, () => ({ ids: Array.from({ length: shape.seq }, () => 5 + rng.int(shape.vocab - 5)) }));
  const batch = { tensors: batchTensors(padRows(rows, 0), config), labels: Int32Array.from(rows, () => rng.int(4)) };
  const stepper = new Stepper(model, { weightDecay: 0.01, maxGradNorm: 1 }, kernels);
  try {
    const train = await time((i) => stepper.stepAsync([batch], [new ForwardContext(true, i, kernels)], 2e-5), options.steps, options.warmup);
    const infer = await time(() => predictLogitsAsync(model, batch.tensors, kernels), Math.max(options.steps, 3), options.warmup);
    const t = median(train);
    const inf = median(infer);
    return {
      train_step_s_median: t,
      train_step_s_spread: [Math.min(...train), Math.max(...train)],
      train_samples_per_s: shape.batch / t,
      infer_step_s_median: inf,
      infer_samples_per_s: shape.batch / inf,
      tensors_after: tf.memory().numTensors,
      steps: options.steps,
    };
  } finally {
    disposeBatch(batch.tensors);
    stepper.dispose();
    model.store.dispose();
  }
}
