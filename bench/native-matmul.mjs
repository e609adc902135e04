#!/usr/bin/env node
/**
 * Matmul throughput (GFLOP/s) at BERT training shapes, per path: the native addon's BLAS path and
 * each own kernel (raw calls), the 'native' tfjs backend (what training sees: kernel plus tfjs
 * overhead), and the pure 'cpu' and 'wasm' backends.
 *
 *   node bench/native-matmul.mjs [--json] [--quick] [--threads N]
 *
 * Prints a table, then one JSON line (the only output line with --json). Timings are the best of
 * several runs; on a shared machine they are noisy, so compare paths from one run only.
 */
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runnerImport } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const threadsArg = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : undefined;
const log = json ? () => {} : (...x) => console.log(...x);

process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
const tf = await import('@tensorflow/tfjs-core');
// Silence the "install tfjs-node" banner the cpu backend prints.
tf.env().set('IS_TEST', true);
await import('@tensorflow/tfjs-backend-cpu');
// The native module is TypeScript: load it through Vite's module runner (node_modules stay
// external, so it registers into the same tfjs instance as this script).
const { module: native } = await runnerImport(path.join(root, 'src/main/engine/native/index.ts'), {
  configFile: false,
  logLevel: 'error',
});

const SHAPES = [
  { name: 'linear 2048x256 . 256x256', a: [2048, 256], b: [256, 256] },
  { name: 'ffn-up 2048x256 . 256x1024', a: [2048, 256], b: [256, 1024] },
  { name: 'ffn-down 2048x1024 . 1024x256', a: [2048, 1024], b: [1024, 256] },
  { name: 'linear (W^T) 2048x256 . (1024x256)^T', a: [2048, 256], b: [1024, 256], transB: true },
  { name: 'weight grad (2048x256)^T . 2048x1024', a: [2048, 256], b: [2048, 1024], transA: true },
  { name: 'attn scores 64x128x64 . 64x64x128', a: [64, 128, 64], b: [64, 64, 128] },
  { name: 'attn context 64x128x128 . 64x128x64', a: [64, 128, 128], b: [64, 128, 64] },
];

function flops(s) {
  const ar = s.a.length;
  const m = s.transA ? s.a[ar - 1] : s.a[ar - 2];
  const k = s.transA ? s.a[ar - 2] : s.a[ar - 1];
  const br = s.b.length;
  const n = s.transB ? s.b[br - 2] : s.b[br - 1];
  const batch = s.a.slice(0, -2).reduce((x, y) => x * y, 1);
  return { m, n, k, flop: 2 * batch * m * n * k };
}

function randomArray(n, seed) {
  let x = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 4294967296 - 0.5;
  }
  return out;
}

/** Best time per call (ms) of a single run, after one warm-up, over `reps` runs. */
function time(fn, reps) {
  fn();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * Best time per call (ms) of each runner, taken round-robin (one call of each per round) so that
 * load from other processes hits every path alike. Rounds go on until minMs have passed (at least
 * 3 rounds, at most 200).
 */
function timeRoundRobin(runners, minMs) {
  for (const r of runners) r.fn();
  const best = runners.map(() => Infinity);
  const start = performance.now();
  for (let round = 0; round < 200 && (round < 3 || performance.now() - start < minMs); round++) {
    runners.forEach((r, i) => {
      const t0 = performance.now();
      r.fn();
      best[i] = Math.min(best[i], performance.now() - t0);
    });
  }
  return best;
}

const results = [];
function record(shape, pathName, ms, flop, note) {
  const gflops = flop / (ms * 1e6);
  results.push({ shape: shape.name, path: pathName, ms: Number(ms.toFixed(3)), gflops: Number(gflops.toFixed(1)), ...(note ? { note } : {}) });
  log(`  ${pathName.padEnd(22)} ${ms.toFixed(2).padStart(10)} ms ${gflops.toFixed(1).padStart(8)} GFLOP/s${note ? `  (${note})` : ''}`);
}

// ------------------------------------------------------------------------------------------------
const reg = native.registerNativeBackend(threadsArg ? { threads: threadsArg } : {});
const info = native.nativeInfo();
const addon = reg.ok ? native.loadNativeAddon().addon : null;
log(`native: ${reg.ok ? info.summary : reg.reason}`);
if (info.blas) log(`BLAS: ${info.blas.path} (${info.blas.detail})`);
else if (info.blasError) log(`BLAS: none (${info.blasError})`);
log(`CPU: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} logical CPUs; threads: ${info.threads ?? '-'} (${info.threadSource ?? '-'})`);
log('Timings on a shared machine are noisy: compare paths within one run.\n');

let wasmOk = false;
try {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dist);
  wasmOk = await tf.setBackend('wasm');
} catch (err) {
  log(`wasm backend unavailable: ${err.message}`);
}

const rawPaths = addon ? [...(info.blas ? ['blas'] : []), ...info.ownKernels] : [];
const minMs = quick ? 150 : 600;

for (const [i, s] of SHAPES.entries()) {
  const { m, n, k, flop } = flops(s);
  log(`${s.name}  (${(flop / 1e9).toFixed(2)} GFLOP per call)`);
  const av = randomArray(s.a.reduce((x, y) => x * y, 1), 1 + i);
  const bv = randomArray(s.b.reduce((x, y) => x * y, 1), 100 + i);
  const aBatch = s.a.slice(0, -2);
  const bBatch = s.b.slice(0, -2);
  const out = new Float32Array(aBatch.reduce((x, y) => x * y, 1) * m * n);
  const runners = rawPaths.map((p) => ({
    name: p === 'blas' ? info.blas.name : p,
    note: p === 'own-scalar' ? 'portable fallback' : undefined,
    fn: () => {
      addon.setGemm(p);
      addon.gemm(av, aBatch, bv, bBatch, out, !!s.transA, !!s.transB, m, n, k, 1, 0, null, 'linear', 0, null);
    },
  }));
  const tensors = [];
  for (const backend of [...(reg.ok ? ['native'] : []), ...(wasmOk ? ['wasm'] : [])]) {
    await tf.setBackend(backend);
    const a = tf.tensor(av, s.a);
    const b = tf.tensor(bv, s.b);
    tensors.push(a, b);
    runners.push({
      name: `tfjs ${backend}${backend === 'native' ? ` (${reg.gemm})` : ''}`,
      fn: () => {
        if (backend === 'native') addon.setGemm(reg.gemm);
        void tf.setBackend(backend); // synchronous once initialised
        tf.tidy(() => {
          tf.matMul(a, b, !!s.transA, !!s.transB).dataSync();
        });
      },
    });
  }
  // The scalar kernel and the JS cpu backend are slow: fewer rounds would not change the picture,
  // but they would stretch the round-robin, so they are timed apart.
  const slow = runners.filter((r) => r.name === 'own-scalar');
  const fast = runners.filter((r) => r.name !== 'own-scalar');
  timeRoundRobin(fast, minMs).forEach((ms, i) => record(s, fast[i].name, ms, flop, fast[i].note));
  for (const r of slow) record(s, r.name, time(r.fn, quick ? 1 : 3), flop, r.note);
  if (addon) addon.setGemm(reg.gemm);
  tf.dispose(tensors);
  await tf.setBackend('cpu');
  {
    const a = tf.tensor(av, s.a);
    const b = tf.tensor(bv, s.b);
    // (tidy must not return the values: it would walk every element looking for tensors.)
    const ms = time(() => tf.tidy(() => void tf.matMul(a, b, !!s.transA, !!s.transB).dataSync()), quick ? 1 : 2);
    record(s, 'tfjs cpu', ms, flop);
    tf.dispose([a, b]);
  }
  log('');
}

const summary = {
  bench: 'native-matmul',
  cpu: os.cpus()[0]?.model ?? null,
  logicalCpus: os.cpus().length,
  threads: info.threads,
  native: reg.ok ? { gemm: reg.gemm, blas: info.blas, ownKernels: info.ownKernels } : { unavailable: reg.reason },
  results,
};
console.log(JSON.stringify(summary));
