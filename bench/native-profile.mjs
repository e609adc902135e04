#!/usr/bin/env node
/**
 * Where a training step's time goes, per tfjs kernel, on the bert-mini bench shape (4 layers,
 * hidden 256, 4 heads, intermediate 1024, vocab 30522, batch 16 x 128), randomly initialised.
 * Every kernel of the backend is wrapped with a timer; times are grouped by kind (matmul,
 * elementwise, softmax/layernorm pieces, embedding gradient, optimizer, ...).
 *
 *   node bench/native-profile.mjs [--backend native|wasm|cpu] [--steps N] [--batch B] [--seq T] [--json]
 *
 * On native the engine itself uses the fused ops (GELU, layer norm, softmax, dropout) and the
 * native AdamW update, as training does.
 *
 * For deciding which fused kernels pay off, not a benchmark of record (the wrappers force
 * synchronous timing and add a little overhead per kernel).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createServer, createServerModuleRunner } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const backendName = opt('backend', 'native');
const steps = Number(opt('steps', 3));
const batchSize = Number(opt('batch', 16));
const seqLen = Number(opt('seq', 128));
const json = argv.includes('--json');

// The engine is TypeScript: run it through one Vite module runner (node_modules stay external).
const server = await createServer({ configFile: false, logLevel: 'error', appType: 'custom', server: { middlewareMode: true, hmr: false, ws: false } });
const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
const load = (rel) => runner.import(path.join(root, rel));
const { tf } = await load('src/main/engine/tf.ts');
const { startBackend } = await load('src/main/engine/backends/start.ts');
const { parseModelConfig } = await load('src/main/hf/config.ts');
const { createModel } = await load('src/main/engine/models/index.ts');
const { Rng } = await load('src/main/engine/rng.ts');
const { padRows, batchTensors, disposeBatch } = await load('src/main/engine/batch.ts');
const { Stepper } = await load('src/main/engine/step.ts');
const { ForwardContext } = await load('src/main/engine/models/layers.ts');
tf.env().set('IS_TEST', true);

const { info, kernels } = await startBackend(backendName);
if (tf.getBackend() !== backendName) throw new Error(`backend ${backendName} did not start: ${JSON.stringify(info)}`);

const KIND = {
  BatchMatMul: 'matmul',
  _FusedMatMul: 'matmul',
  Softmax: 'softmax',
  Max: 'softmax/layernorm reductions',
  Sum: 'softmax/layernorm reductions',
  Mean: 'softmax/layernorm reductions',
  Exp: 'softmax',
  Log: 'softmax',
  Sqrt: 'layernorm',
  Rsqrt: 'layernorm',
  SquaredDifference: 'layernorm',
  Erf: 'gelu',
  Tanh: 'gelu',
  Gather: 'embedding',
  GatherV2: 'embedding',
  UnsortedSegmentSum: 'embedding gradient',
  Transpose: 'transpose',
  Reshape: 'reshape',
  RandomUniform: 'dropout',
  GreaterEqual: 'dropout',
  Cast: 'cast',
  FinetuneGelu: 'gelu',
  FinetuneGeluGrad: 'gelu',
  FinetuneLayerNorm: 'layernorm',
  FinetuneLayerNormGrad: 'layernorm',
  FinetuneSoftmaxGrad: 'softmax',
  FinetuneDropout: 'dropout',
};
const ELEMENTWISE = new Set(['Add', 'AddN', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Sqrt', 'Rsqrt', 'Exp', 'Log', 'Erf', 'Tanh', 'ClipByValue', 'NotEqual', 'LogicalAnd', 'Neg', 'Pow', 'Square', 'Abs', 'Sign', 'Maximum', 'Minimum', 'Less', 'Greater', 'LessEqual', 'Equal', 'Select', 'Step', 'ZerosLike', 'OnesLike', 'Fill', 'Identity', 'Relu', 'Sigmoid', 'Reciprocal']);
const kindOf = (k) => KIND[k] ?? (ELEMENTWISE.has(k) ? 'elementwise' : 'other');

const stats = new Map();
let phase = 'forward/backward';
let enabled = false;
for (const k of tf.getKernelsForBackend(backendName)) {
  const fn = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, backendName);
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      if (!enabled) return fn(args);
      const t0 = performance.now();
      const out = fn(args);
      const dt = performance.now() - t0;
      const key = `${phase}\t${k.kernelName}`;
      const s = stats.get(key) ?? { ms: 0, calls: 0 };
      s.ms += dt;
      s.calls++;
      stats.set(key, s);
      return out;
    },
  });
}

const config = parseModelConfig({
  model_type: 'bert',
  vocab_size: 30522,
  hidden_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 1024,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  id2label: { 0: 'a', 1: 'b', 2: 'c', 3: 'd' },
});
const model = createModel(config);
const rng = new Rng(1);
for (const name of model.store.names()) model.store.initialise(name, rng, 0.02);
const rows = Array.from({ length: batchSize }, () => ({ ids: Array.from({ length: seqLen }, () => 1 + Math.floor(rng.next() * 30000)) }));
const batch = { tensors: batchTensors(padRows(rows, 0), config), labels: Int32Array.from({ length: batchSize }, (_, i) => i % 4) };
const stepper = new Stepper(model, { weightDecay: 0.01, maxGradNorm: 1 }, kernels);

// Optimizer time (clip + apply, wall clock, kernels inside attributed to it too).
let optimizerMs = 0;
const timed = (fn) => (...a) => {
  const p = phase;
  phase = 'optimizer';
  const t = performance.now();
  try {
    return fn(...a);
  } finally {
    if (enabled) optimizerMs += performance.now() - t;
    phase = p;
  }
};
stepper.optimizer.clip = timed(stepper.optimizer.clip.bind(stepper.optimizer));
stepper.optimizer.apply = timed(stepper.optimizer.apply.bind(stepper.optimizer));

stepper.step([batch], [new ForwardContext(true, 0, kernels)], 1e-4); // warm-up
let stepMs = Infinity;
const faults0 = process.resourceUsage().minorPageFault;
enabled = true;
const t0 = performance.now();
for (let s = 0; s < steps; s++) {
  const ts = performance.now();
  stepper.step([batch], [new ForwardContext(true, s + 1, kernels)], 1e-4);
  stepMs = Math.min(stepMs, performance.now() - ts);
}
const trainWall = (performance.now() - t0) / steps;
const faultsPerStep = (process.resourceUsage().minorPageFault - faults0) / steps;
enabled = false;
const trainStats = new Map(stats);
stats.clear();
phase = 'inference';
tf.tidy(() => void model.logits(batch.tensors, new ForwardContext(false, 0, kernels)).dataSync());
enabled = true;
const i0 = performance.now();
for (let s = 0; s < steps; s++) tf.tidy(() => void model.logits(batch.tensors, new ForwardContext(false, 0, kernels)).dataSync());
const inferWall = (performance.now() - i0) / steps;
enabled = false;

function report(title, map, wallMs) {
  const byKind = new Map();
  const rowsOut = [];
  for (const [key, s] of map) {
    const [ph, kernel] = key.split('\t');
    const kind = ph === 'optimizer' ? 'optimizer' : kindOf(kernel);
    byKind.set(kind, (byKind.get(kind) ?? 0) + s.ms / steps);
    rowsOut.push({ phase: ph, kernel, kind, msPerStep: s.ms / steps, calls: s.calls / steps });
  }
  const kernelMs = [...byKind.values()].reduce((a, b) => a + b, 0);
  if (!json) {
    if (title === 'training step') console.log(`\nminor page faults per training step: ${faultsPerStep.toFixed(0)}`);
    console.log(`\n${title}: ${wallMs.toFixed(0)} ms per step (${((batchSize * 1000) / wallMs).toFixed(1)} samples/s), ${kernelMs.toFixed(0)} ms inside kernels`);
    if (title === 'training step') console.log(`  optimizer (clip + AdamW, wall): ${(optimizerMs / steps).toFixed(1)} ms per step`);
    for (const [kind, ms] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`  ${kind.padEnd(32)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / wallMs).toFixed(1).padStart(5)} %`);
    console.log('  top kernels:');
    for (const r of rowsOut.sort((a, b) => b.msPerStep - a.msPerStep).slice(0, 14)) {
      console.log(`    ${`${r.phase === 'optimizer' ? 'opt:' : ''}${r.kernel}`.padEnd(30)} ${r.msPerStep.toFixed(1).padStart(8)} ms  ${r.calls.toFixed(0).padStart(5)} calls`);
    }
  }
  return { wallMs, samplesPerSec: (batchSize * 1000) / wallMs, byKind: Object.fromEntries(byKind), kernels: rowsOut };
}

if (!json) console.log(`backend ${backendName} (${info.detail}); batch ${batchSize} x ${seqLen}; best of ${steps} steps`);
const train = report('training step', trainStats, trainWall);
const infer = report('forward only, through tfjs (the training forward; inference on native runs on host arrays, see bench/train-bench.mjs)', stats, inferWall);
console.log(JSON.stringify({ bench: 'native-profile', backend: backendName, batchSize, seqLen, faultsPerStep, optimizerMsPerStep: optimizerMs / steps, train, infer }));
disposeBatch(batch.tensors);
stepper.dispose();
await runner.close();
await server.close();
