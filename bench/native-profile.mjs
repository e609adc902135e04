#!/usr/bin/env node
/**
 * Where a training step's time goes, per tfjs kernel, on the bert-mini bench shape (4 layers,
 * hidden 256, 4 heads, intermediate 1024, vocab 30522, batch 16 x 128), randomly initialised.
 * Every kernel of the backend is wrapped with a timer; times are grouped by kind (matmul,
 * elementwise, softmax/layernorm pieces, embedding gradient, optimizer, ...).
 *
 *   node bench/native-profile.mjs [--backend native|wasm|cpu] [--steps N] [--batch B] [--seq T]
 *                                 [--native-adamw] [--fused] [--json]
 *
 * --native-adamw installs the native AdamW kernel in the engine's hook; --fused (what-if) also
 * patches the engine's layers to use the fused native ops (GELU, layer norm, softmax, dropout).
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
const { tf, initBackend } = await load('src/main/engine/tf.ts');
const { parseModelConfig } = await load('src/main/engine/config.ts');
const { createModel } = await load('src/main/engine/models/index.ts');
const { Rng } = await load('src/main/engine/rng.ts');
const { padRows, batchTensors, disposeBatch } = await load('src/main/engine/batch.ts');
const { Stepper } = await load('src/main/engine/step.ts');
const { ForwardContext } = await load('src/main/engine/models/layers.ts');
tf.env().set('IS_TEST', true);

const info = await initBackend(backendName);
if (tf.getBackend() !== backendName) throw new Error(`backend ${backendName} did not start: ${JSON.stringify(info)}`);

let fusedCheck = null;
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
const stepper = new Stepper(model, { weightDecay: 0.01, maxGradNorm: 1 });

// --fused (what-if): the engine's layers use the fused native ops, as they could once the engine
// adopts them: LayerNorm.apply, dropout, the attention softmax and the GELU of the feed-forward
// block. The patched methods below restate the engine's own code (layers.ts) with those ops; the
// bench checks that the patched model gives the same logits in eval mode before timing.
const fused = argv.includes('--fused');
if (fused) {
  const layers = await load('src/main/engine/models/layers.ts');
  const { nativeOps } = await load('src/main/engine/native/index.ts');
  const ops = nativeOps();
  if (!ops) throw new Error('--fused: the native backend is not registered');
  const reference = {
    layerNorm: layers.LayerNorm.prototype.apply,
    dropout: layers.ForwardContext.prototype.dropout,
    attention: layers.SelfAttention.prototype.apply,
    layer: layers.TransformerLayer.prototype.apply,
  };
  let dropoutCalls = 0;
  layers.LayerNorm.prototype.apply = function (x) {
    return ops.layerNorm(x, this.store.get(this.weight), this.store.get(this.bias), this.eps);
  };
  layers.ForwardContext.prototype.dropout = function (x, rate) {
    if (!this.training || rate <= 0) return x;
    return ops.dropout(x, rate, (this.seed ?? 0) * 1000003 + dropoutCalls++);
  };
  layers.SelfAttention.prototype.apply = function (x, batch, ctx) {
    const { batchSize: b, seqLen: t } = batch;
    const d = this.hidden / this.heads;
    const split = (y) => tf.reshape(tf.transpose(tf.reshape(y, [b, t, this.heads, d]), [0, 2, 1, 3]), [b * this.heads, t, d]);
    const q = split(this.q.apply(x));
    const k = split(this.k.apply(x));
    const v = split(this.v.apply(x));
    let scores = tf.mul(tf.matMul(q, k, false, true), d ** -0.5);
    scores = tf.add(tf.reshape(scores, [b, this.heads, t, t]), batch.additiveMask);
    let probs = ops.softmax(scores);
    probs = ctx.dropout(probs, this.probsDropout);
    const context = tf.matMul(tf.reshape(probs, [b * this.heads, t, t]), v);
    const merged = tf.reshape(tf.transpose(tf.reshape(context, [b, this.heads, t, d]), [0, 2, 1, 3]), [b * t, this.hidden]);
    return this.out.apply(merged);
  };
  layers.TransformerLayer.prototype.apply = function (x, batch, ctx) {
    if (this.opts.act !== 'gelu' && this.opts.act !== 'gelu_python') return reference.layer.call(this, x, batch, ctx);
    let attn = this.attention.apply(x, batch, ctx);
    if (this.opts.dropoutAfterAttention) attn = ctx.dropout(attn, this.opts.hiddenDropout);
    const a = this.attentionNorm.apply(tf.add(x, attn));
    let f = this.ffnOut.apply(ops.gelu(this.ffnIn.apply(a), 'erf'));
    if (this.opts.dropoutAfterFfn) f = ctx.dropout(f, this.opts.hiddenDropout);
    return this.outputNorm.apply(tf.add(f, a));
  };
  fusedCheck = (model, tensors) => {
    const patched = tf.tidy(() => model.logits(tensors, new layers.ForwardContext(false)).dataSync().slice());
    const saved = {
      ln: layers.LayerNorm.prototype.apply,
      att: layers.SelfAttention.prototype.apply,
      layer: layers.TransformerLayer.prototype.apply,
    };
    layers.LayerNorm.prototype.apply = reference.layerNorm;
    layers.SelfAttention.prototype.apply = reference.attention;
    layers.TransformerLayer.prototype.apply = reference.layer;
    const plain = tf.tidy(() => model.logits(tensors, new layers.ForwardContext(false)).dataSync().slice());
    layers.LayerNorm.prototype.apply = saved.ln;
    layers.SelfAttention.prototype.apply = saved.att;
    layers.TransformerLayer.prototype.apply = saved.layer;
    let maxDiff = 0;
    for (let i = 0; i < plain.length; i++) maxDiff = Math.max(maxDiff, Math.abs(plain[i] - patched[i]));
    if (!json) console.log(`--fused: eval logits differ from the engine's own layers by at most ${maxDiff.toExponential(2)}`);
    if (!(maxDiff < 1e-4)) throw new Error(`--fused: the patched layers disagree with the engine (max logit difference ${maxDiff})`);
  };
}

// --native-adamw: the engine's AdamW hook gets the native kernel (as the trainer would install it).
if (fused || argv.includes('--native-adamw')) {
  const { setAdamWKernel } = await load('src/main/engine/optimizer.ts');
  const { nativeAdamWKernel } = await load('src/main/engine/native/optimizer.ts');
  const k = nativeAdamWKernel();
  if (!k) throw new Error('--native-adamw: the native addon is unavailable');
  setAdamWKernel(k);
}

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

if (fusedCheck) fusedCheck(model, batch.tensors);
stepper.step([batch], [new ForwardContext(true, 0)], 1e-4); // warm-up
let stepMs = Infinity;
const faults0 = process.resourceUsage().minorPageFault;
enabled = true;
const t0 = performance.now();
for (let s = 0; s < steps; s++) {
  const ts = performance.now();
  stepper.step([batch], [new ForwardContext(true, s + 1)], 1e-4);
  stepMs = Math.min(stepMs, performance.now() - ts);
}
const trainWall = (performance.now() - t0) / steps;
const faultsPerStep = (process.resourceUsage().minorPageFault - faults0) / steps;
enabled = false;
const trainStats = new Map(stats);
stats.clear();
phase = 'inference';
tf.tidy(() => void model.logits(batch.tensors, new ForwardContext(false)).dataSync());
enabled = true;
const i0 = performance.now();
for (let s = 0; s < steps; s++) tf.tidy(() => void model.logits(batch.tensors, new ForwardContext(false)).dataSync());
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
const infer = report('inference (forward only)', stats, inferWall);
console.log(JSON.stringify({ bench: 'native-profile', backend: backendName, batchSize, seqLen, faultsPerStep, optimizerMsPerStep: optimizerMs / steps, train, infer }));
disposeBatch(batch.tensors);
stepper.dispose();
await runner.close();
await server.close();
