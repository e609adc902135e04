#!/usr/bin/env node
/**
 * `npm run bench`: training and inference throughput of the engine on the bert-mini shape
 * (4 layers, hidden 256, 4 heads, intermediate 1024, vocab 30522) at batch 16 x 128 tokens, on
 * every backend that runs here, beside PyTorch on the same machine
 * (../shared/reference/torch_train_bench.py, when Debian's python3 has torch), with the ratio.
 *
 *   node bench/train-bench.mjs [--json] [--steps N] [--rounds N] [--backends native,wasm,cpu] [--no-torch]
 *
 * After one survey of every backend, the best one and PyTorch alternate for --rounds rounds
 * (default 3): the reported ratios are the medians of the rounds' ratios, with their spread.
 *
 * Each backend runs in its own process (its peak RSS is its own). A training step is what the
 * trainer does: forward, cross-entropy, backward, global-norm clipping, AdamW. Prints a table,
 * then one JSON object on the last line (with --json, only that line) with ratio_train and
 * ratio_infer: ours over PyTorch, best backend. Figures, not a test: on a shared machine they
 * are noisy; compare numbers from one run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const json = argv.includes('--json');
const SHAPE = { layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocab: 30522, batch: 16, seq: 128 };

if (argv.includes('--child')) {
  await child(opt('child-backend', 'native'), Number(opt('steps', 5)), Number(opt('warmup', 2)));
  process.exit(0);
}

const log = json ? () => {} : (...x) => console.log(...x);
const steps = Number(opt('steps', 5));
const backends = opt('backends', 'tensorflow-gpu,webgpu,tensorflow,native,wasm,cpu').split(',');
const results = {};
log(`bert-mini (${SHAPE.layers} layers, hidden ${SHAPE.hidden}, ${SHAPE.heads} heads, intermediate ${SHAPE.intermediate}, vocab ${SHAPE.vocab}), batch ${SHAPE.batch} x ${SHAPE.seq} tokens`);
/** One backend in its own process: its JSON line, or { unavailable: why }. */
function runOurs(b, n) {
  // The pure JavaScript backend takes minutes per training step at this shape: one step only.
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', '--child-backend', b, '--steps', String(b === 'cpu' ? 1 : n), '--warmup', b === 'cpu' ? '0' : '2'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FINETUNE_BACKEND: '' },
    timeout: 30 * 60_000,
  });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) return { unavailable: ((r.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? `exit ${r.status}`).slice(0, 200) };
  return JSON.parse(line);
}

for (const b of backends) {
  const parsed = runOurs(b, steps);
  if (parsed.unavailable) {
    results[b] = { available: false, reason: parsed.unavailable };
    log(`${b.padEnd(15)} not available: ${parsed.unavailable}`);
    continue;
  }
  results[b] = { available: true, ...parsed };
  const x = results[b];
  log(`${b.padEnd(15)} train ${x.train_samples_per_s.toFixed(2).padStart(8)} samples/s (${x.train_tokens_per_s.toFixed(0)} tokens/s)   infer ${x.infer_samples_per_s.toFixed(2).padStart(8)} samples/s   peak RSS ${(x.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB   ${x.backend_label}${x.detail ? ` (${x.detail})` : ''}`);
}

// PyTorch at its default thread count and at ours (the native backend's); the faster counts, so
// the ratio is never flattered by a PyTorch configuration that is slow on this machine.
let torch = null;
const torchRuns = [];
if (!argv.includes('--no-torch')) {
  const script = path.join(root, '../shared/reference/torch_train_bench.py');
  if (fs.existsSync(script) && fs.existsSync('/usr/bin/python3')) {
    const ourThreads = results.native?.threads;
    const configs = [{ label: 'default threads', env: {} }];
    if (ourThreads) configs.push({ label: `${ourThreads} threads, as ours`, env: { OMP_NUM_THREADS: String(ourThreads) } });
    for (const c of configs) {
      const r = spawnSync('/usr/bin/python3', [script, '--steps', String(Math.max(steps, 5))], { encoding: 'utf8', timeout: 20 * 60_000, env: { ...process.env, ...c.env } });
      const line = (r.stdout ?? '').trim().split('\n').pop();
      if (r.status === 0 && line?.startsWith('{')) {
        const t = { ...JSON.parse(line), config: c.label, env: c.env };
        torchRuns.push(t);
        log(`${'pytorch'.padEnd(15)} train ${t.train_samples_per_s.toFixed(2).padStart(8)} samples/s   infer ${t.infer_samples_per_s.toFixed(2).padStart(8)} samples/s   torch ${t.torch}, ${t.threads} thread(s) (${c.label}), ${path.basename(t.blas)}`);
        if (r.stderr.trim()) log(`  ${r.stderr.trim().split('\n').pop()}`);
      } else {
        log(`pytorch         not available: ${(r.stderr || '').trim().split('\n').pop() ?? 'no output'} (apt-get install -y python3-torch libopenblas0-pthread)`);
        break;
      }
    }
    if (torchRuns.length) {
      const fastest = (key) => torchRuns.reduce((a, b) => (b[key] > a[key] ? b : a));
      torch = { ...fastest('train_samples_per_s'), train_samples_per_s: fastest('train_samples_per_s').train_samples_per_s, infer_samples_per_s: fastest('infer_samples_per_s').infer_samples_per_s, runs: torchRuns };
    }
  } else {
    log('pytorch         not available: /usr/bin/python3 or ../shared/reference/torch_train_bench.py is missing');
  }
}

const available = Object.entries(results).filter(([, r]) => r.available);
const best = (key) => available.reduce((a, [name, r]) => (a === null || r[key] > a.value ? { name, value: r[key] } : a), null);
const bestTrain = best('train_samples_per_s');
const bestInfer = best('infer_samples_per_s');
const summary = {
  shape: SHAPE,
  backends: results,
  pytorch: torch,
  best_train_backend: bestTrain?.name ?? null,
  best_infer_backend: bestInfer?.name ?? null,
  train_samples_per_s: bestTrain?.value ?? null,
  infer_samples_per_s: bestInfer?.value ?? null,
  ratio_train: torch && bestTrain ? bestTrain.value / torch.train_samples_per_s : null,
  ratio_infer: torch && bestInfer ? bestInfer.value / torch.infer_samples_per_s : null,
};
// Ratios that hold on a shared machine: ours (best backend) and PyTorch (its faster
// configuration) alternate in short rounds, so background load hits both alike; the ratio is the
// median of the rounds' ratios, with their spread.
const rounds = Number(opt('rounds', 3));
if (torch && bestTrain && rounds > 0) {
  const script = path.join(root, '../shared/reference/torch_train_bench.py');
  const torchEnv = torchRuns.find((t) => t.train_samples_per_s === torch.train_samples_per_s)?.env ?? {};
  const per = { train: [], infer: [] };
  for (let i = 0; i < rounds; i++) {
    const ours = runOurs(bestTrain.name, steps);
    const r = spawnSync('/usr/bin/python3', [script, '--steps', String(Math.max(steps, 5))], { encoding: 'utf8', timeout: 20 * 60_000, env: { ...process.env, ...torchEnv } });
    const line = (r.stdout ?? '').trim().split('\n').pop();
    if (ours.unavailable || r.status !== 0 || !line?.startsWith('{')) continue;
    const t = JSON.parse(line);
    per.train.push(ours.train_samples_per_s / t.train_samples_per_s);
    per.infer.push(ours.infer_samples_per_s / t.infer_samples_per_s);
    log(`round ${i + 1}: train ${per.train.at(-1).toFixed(2)}x, inference ${per.infer.at(-1).toFixed(2)}x`);
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  if (per.train.length) {
    summary.rounds = per.train.length;
    summary.ratio_train = median(per.train);
    summary.ratio_infer = median(per.infer);
    summary.ratio_train_spread = [Math.min(...per.train), Math.max(...per.train)];
    summary.ratio_infer_spread = [Math.min(...per.infer), Math.max(...per.infer)];
  }
}
if (summary.ratio_train !== null) log(`ratio (ours / PyTorch, best backend${summary.rounds ? `, median of ${summary.rounds} alternating rounds` : ''}): train ${summary.ratio_train.toFixed(2)}x${summary.ratio_train_spread ? ` [${summary.ratio_train_spread.map((x) => x.toFixed(2)).join('-')}]` : ''} (${summary.best_train_backend}), inference ${summary.ratio_infer.toFixed(2)}x (${summary.best_infer_backend})`);
console.log(JSON.stringify(summary));

/** One backend, in this process: timed train and inference steps on random token ids. */
async function child(backendName, steps, warmup) {
  const { createServer, createServerModuleRunner } = await import('vite');
  const server = await createServer({ configFile: false, logLevel: 'error', appType: 'custom', server: { middlewareMode: true, hmr: false, ws: false } });
  const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
  const load = (rel) => runner.import(path.join(root, rel));
  const { startBackend } = await load('src/main/engine/backends/start.ts');
  const { measureThroughput } = await load('src/main/engine/throughput.ts');
  let info;
  let kernels;
  try {
    ({ info, kernels } = await startBackend(backendName));
  } catch (err) {
    console.log(JSON.stringify({ unavailable: String(err.message ?? err).split('\n')[0] }));
    await server.close();
    return;
  }
  const r = await measureThroughput(SHAPE, kernels, { steps, warmup });
  const usage = process.resourceUsage();
  console.log(JSON.stringify({
    backend: info.name,
    backend_label: info.label,
    detail: info.name === 'native' ? (await load('src/main/engine/native/index.ts')).nativeInfo?.()?.gemm ?? '' : '',
    threads: info.name === 'native' ? (await load('src/main/engine/native/index.ts')).nativeInfo?.()?.threads ?? null : null,
    ...r,
    train_tokens_per_s: (SHAPE.batch * SHAPE.seq) / r.train_step_s_median,
    infer_tokens_per_s: (SHAPE.batch * SHAPE.seq) / r.infer_step_s_median,
    peak_rss_bytes: usage.maxRSS * 1024,
  }));
  await server.close();
}
