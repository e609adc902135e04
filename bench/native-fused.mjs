#!/usr/bin/env node
/**
 * Forward + backward time of each fused op on 'native' against the tfjs op chain it replaces
 * (also on 'native', whose every kernel is already native), at bert-mini shapes (batch 16 x 128).
 *
 *   node bench/native-fused.mjs [--json]
 *
 * Best of several rounds, taken round-robin; on a shared machine the absolute numbers are noisy.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runnerImport } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const json = process.argv.includes('--json');
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs');
tf.env().set('PROD', true);
const { module: native } = await runnerImport(path.join(root, 'src/main/engine/native/index.ts'), { configFile: false, logLevel: 'error' });
const reg = native.registerNativeBackend();
if (!reg.ok) {
  console.log(JSON.stringify({ bench: 'native-fused', unavailable: reg.reason }));
  process.exit(0);
}
await tf.setBackend('native');
const ops = native.nativeOps();

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const chain = {
  geluErf: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
  geluTanh: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI)))),
  layerNorm: (x, g, b) => {
    const mean = tf.mean(x, -1, true);
    const c = tf.sub(x, mean);
    return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), 1e-12))), g), b);
  },
  dropout: (x, rate, seed) => tf.mul(x, tf.mul(tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), rate), 'float32'), 1 / (1 - rate))),
};

const x4k = tf.randomNormal([2048, 1024]);
const x256 = tf.randomNormal([2048, 256]);
const scores = tf.randomNormal([16, 4, 128, 128]);
const gamma = tf.ones([256]);
const beta = tf.zeros([256]);
const cases = [
  { name: 'GELU erf [2048,1024]', x: x4k, fused: (x) => ops.gelu(x, 'erf'), chain: chain.geluErf },
  { name: 'GELU tanh [2048,1024]', x: x4k, fused: (x) => ops.gelu(x, 'tanh'), chain: chain.geluTanh },
  { name: 'LayerNorm [2048,256]', x: x256, fused: (x) => ops.layerNorm(x, gamma, beta, 1e-12), chain: (x) => chain.layerNorm(x, gamma, beta) },
  { name: 'softmax [16,4,128,128]', x: scores, fused: (x) => ops.softmax(x), chain: (x) => tf.softmax(x) },
  { name: 'dropout 0.1 [16,4,128,128]', x: scores, fused: (x) => ops.dropout(x, 0.1, 7), chain: (x) => chain.dropout(x, 0.1, 7) },
];
const step = (f, x) => () => tf.tidy(() => {
  const [g] = tf.grads((a) => tf.sum(f(a)))([x]);
  g.dataSync();
});
const results = [];
for (const c of cases) {
  const runners = [
    { kind: 'fused', fn: step(c.fused, c.x) },
    { kind: 'op chain', fn: step(c.chain, c.x) },
  ];
  for (const r of runners) r.fn();
  const best = runners.map(() => Infinity);
  for (let round = 0; round < 8; round++) {
    runners.forEach((r, i) => {
      const t0 = performance.now();
      r.fn();
      best[i] = Math.min(best[i], performance.now() - t0);
    });
  }
  results.push({ op: c.name, fusedMs: +best[0].toFixed(2), chainMs: +best[1].toFixed(2), speedup: +(best[1] / best[0]).toFixed(1) });
  if (!json) console.log(`${c.name.padEnd(28)} fused ${best[0].toFixed(2).padStart(7)} ms   op chain ${best[1].toFixed(2).padStart(7)} ms   x${(best[1] / best[0]).toFixed(1)}  (forward + backward)`);
}
console.log(JSON.stringify({ bench: 'native-fused', gemm: reg.gemm, threads: reg.threads, results }));
