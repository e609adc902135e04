#!/usr/bin/env node
/**
 * The engine's training step on the `webgpu` backend: throughput, GPU work per step and the
 * buffer pool. For the issue-13 work on fused kernels and the pool trim: what a step costs in
 * dispatches (each tfjs kernel run is one compute dispatch) and queue submissions, and how many
 * bytes tfjs-webgpu's buffer pool holds before and after the engine trims it.
 *
 *   node bench/webgpu-bench.mjs [--shape bert-mini|bert-base] [--batch 4] [--seq 32] [--steps 5] [--warmup 1]
 *                               [--layers N --hidden N --heads N --intermediate N --vocab N]
 *                               [--fused off,on]   which fused WGSL kernels (engine/webgpu): a comma list of
 *                                                  on | off | ops | optimizer, each measured in turn (default off,on)
 *
 * The backend is requested by name, as FINETUNE_BACKEND=webgpu does: a real GPU when Dawn finds
 * one, else (Linux) a software adapter through Mesa (then EGL_PLATFORM=surfaceless is set for it).
 * Nothing here assumes either: the same command runs on a GPU machine. Prints one JSON object.
 * Figures, not a test; the software adapter's times say nothing about a GPU's. Dispatches count
 * tfjs' kernel runs plus the engine's fused WGSL dispatches.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);

const SHAPES = {
  'bert-mini': { layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocab: 30522 },
  'bert-base': { layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocab: 30522 },
};
const shapeName = opt('shape', 'bert-mini');
if (!SHAPES[shapeName]) {
  console.error(`unknown --shape ${shapeName} (${Object.keys(SHAPES).join(', ')})`);
  process.exit(2);
}
const shape = { ...SHAPES[shapeName] };
for (const k of Object.keys(shape)) if (opt(k, null) !== null) shape[k] = Number(opt(k));
const batchSize = Number(opt('batch', 4));
const seqLen = Number(opt('seq', 32));
const steps = Number(opt('steps', 5));
const warmup = Number(opt('warmup', 1));
const fusedModes = String(opt('fused', 'off,on')).split(',').map((m) => m.trim());
for (const m of fusedModes) {
  if (!['on', 'off', 'ops', 'optimizer'].includes(m)) {
    console.error(`unknown --fused ${m} (on, off, ops, optimizer)`);
    process.exit(2);
  }
}

// The engine's TypeScript is loaded through vite (as bench/train-bench.mjs does), unless a bundle
// that embeds this file supplies the modules (globalThis.__webgpuBenchModules: path -> module).
let load;
let server = null;
if (globalThis.__webgpuBenchModules) {
  load = async (rel) => globalThis.__webgpuBenchModules[rel];
} else {
  const { createServer, createServerModuleRunner } = await import('vite');
  server = await createServer({ configFile: false, logLevel: 'error', appType: 'custom', server: { middlewareMode: true, hmr: false, ws: false } });
  const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
  load = (rel) => runner.import(path.join(root, rel));
}
try {
  await main();
} finally {
  await server?.close();
}

async function main() {
  const { tf } = await load('src/main/engine/tf.ts');
  const { startBackend } = await load('src/main/engine/backends/start.ts');
  const { startWebGpuBackend } = await load('src/main/engine/webgpu/backend.ts');
  const { parseModelConfig } = await load('src/main/hf/config.ts');
  const { createModel, initialiseModel } = await load('src/main/engine/models/index.ts');
  const { batchTensors, disposeBatch, padRows } = await load('src/main/engine/batch.ts');
  const { Stepper, predictLogitsAsync } = await load('src/main/engine/step.ts');
  const { ForwardContext } = await load('src/main/engine/models/layers.ts');
  const { Rng } = await load('src/main/engine/rng.ts');
  const { webgpuFusedKernels } = await load('src/main/engine/webgpu/fused.ts');
  const { fusedDispatches } = await load('src/main/engine/webgpu/runner.ts');

  let info;
  let started0;
  try {
    ({ info, kernels: started0 } = await startBackend('webgpu'));
  } catch (err) {
    console.log(JSON.stringify({ available: false, reason: String(err.message ?? err).split('\n')[0] }));
    return;
  }
  // The handle of the backend startBackend just made current (the same module instance).
  const started = await startWebGpuBackend({ allowSoftware: true });
  if (!started.ok) throw new Error(started.reason);
  const { handle } = started;

  // Count the backend's kernel runs (one compute dispatch each) and its queue submissions.
  const gpu = tf.backend();
  const counts = {
    programs: 0,
    submits: 0,
    get dispatches() {
      return this.programs + fusedDispatches();
    },
  };
  const runProgram = gpu.runWebGPUProgram;
  gpu.runWebGPUProgram = function (...args) {
    counts.programs++;
    return runProgram.apply(this, args);
  };
  const submitQueue = gpu.submitQueue;
  gpu.submitQueue = function (...args) {
    counts.submits++;
    return submitQueue.apply(this, args);
  };

  // Trims the engine made after a step (start.ts: when the pool holds over 2x the live bytes + 256 MB).
  let trims = 0;
  let peak = 0;
  const trimPool = handle.trimPool;
  handle.trimPool = function (...args) {
    trims++;
    peak = Math.max(peak, handle.poolBytes().allocated);
    return trimPool.apply(this, args);
  };

  const results = [];
  for (const mode of fusedModes) {
    // The started backend's kernels without any fused WGSL kernel, plus the ones this mode asks for.
    const kernels = { ...started0, ops: null, adamwTensors: undefined, sumOfSquaresTensors: undefined, ...webgpuFusedKernels(gpu, handle.maxStorageBuffers, mode) };
    handle.trimPool();
    results.push({ fused: mode, ...(await measure(kernels)) });
  }
  const base = results.find((r) => r.fused === 'off');
  console.log(JSON.stringify({
    available: true,
    backend: info.name,
    backend_label: info.label,
    adapter: handle.report,
    shape: { name: shapeName, ...shape, batch: batchSize, seq: seqLen },
    steps,
    warmup,
    results,
    // Against --fused off, when it was measured: how far the losses of the same steps drifted.
    loss_max_abs_diff_vs_off: base ? Object.fromEntries(results.map((r) => [r.fused, Math.max(...r.losses.map((l, i) => Math.abs(l - base.losses[i])))])) : null,
  }));

  async function measure(kernels) {
  const config = parseModelConfig({
    model_type: 'bert', vocab_size: shape.vocab, hidden_size: shape.hidden, num_hidden_layers: shape.layers, num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate, hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, num_labels: 4,
  });
  const model = createModel(config);
  initialiseModel(model, 0);
  const rng = new Rng(1);
  const rows = Array.from({ length: batchSize }, () => ({ ids: Array.from({ length: seqLen }, () => 5 + rng.int(shape.vocab - 5)) }));
  const batch = { tensors: batchTensors(padRows(rows, 0), config), labels: Int32Array.from(rows, () => rng.int(4)) };
  const stepper = new Stepper(model, { weightDecay: 0.01, maxGradNorm: 1 }, kernels);
  const probe = model.store.get(model.store.names()[0]);
  // A step's GPU work is finished once a parameter it updated has been read back.
  const settle = async () => {
    await probe.data();
  };

  const losses = [];
  for (let i = 0; i < warmup; i++) losses.push((await stepper.stepAsync([batch], [new ForwardContext(true, i, kernels)], 2e-5)).loss);
  await settle();
  const tensorsBefore = tf.memory().numTensors;
  const trimsBefore = trims;
  peak = 0;
  const perStep = [];
  const tensorCounts = [];
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const d = counts.dispatches;
    const s = counts.submits;
    losses.push((await stepper.stepAsync([batch], [new ForwardContext(true, warmup + i, kernels)], 2e-5)).loss);
    perStep.push({ dispatches: counts.dispatches - d, submits: counts.submits - s });
    peak = Math.max(peak, handle.poolBytes().allocated);
    tensorCounts.push(tf.memory().numTensors);
  }
  await settle();
  const stepTrims = trims - trimsBefore;
  const stepPeak = peak;
  const trainSeconds = (performance.now() - t0) / 1000;

  const d = counts.dispatches;
  const i0 = performance.now();
  await predictLogitsAsync(model, batch.tensors, kernels);
  const inferSeconds = (performance.now() - i0) / 1000;
  const inferDispatches = counts.dispatches - d;

  const poolBefore = handle.poolBytes();
  const freed = handle.trimPool();
  const poolAfter = handle.poolBytes();
  const memory = tf.memory();
  disposeBatch(batch.tensors);
  stepper.dispose();
  model.store.dispose();
  handle.errors.throwIfAny();

  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    train_step_s: trainSeconds / steps,
    train_samples_per_s: (batchSize * steps) / trainSeconds,
    train_tokens_per_s: (batchSize * seqLen * steps) / trainSeconds,
    infer_s: inferSeconds,
    dispatches_per_step: median(perStep.map((p) => p.dispatches)),
    submits_per_step: median(perStep.map((p) => p.submits)),
    dispatches_per_inference: inferDispatches,
    per_step: perStep,
    losses,
    tensors_constant_across_steps: tensorCounts.every((n) => n === tensorsBefore),
    live_tensor_bytes: memory.numBytes,
    // The pool below is after the inference, before the bench's own trim; the engine trimmed after stepTrims of the steps.
    pool_trims_after_steps: stepTrims,
    // The most the pool held at the end of a step (before the engine's trim, when it trimmed).
    pool_peak_bytes_at_step_end: stepPeak,
    pool_bytes_before_trim: poolBefore,
    pool_bytes_freed_by_trim: freed,
    pool_bytes_after_trim: poolAfter,
  };
  }
}
