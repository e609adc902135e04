#!/usr/bin/env node
/**
 * `npm run bench`: every figure the issues ask for, in one run on this machine.
 *   1. Training and inference samples/s of the bert-mini shape on each backend, beside PyTorch
 *      (bench/train-bench.mjs), with ratio_train and ratio_infer (ours / PyTorch, best backend).
 *   2. Matmul GFLOP/s of each backend and GEMM path (bench/native-matmul.mjs).
 *   3. Where a native training step's time goes, by op kind (bench/native-profile.mjs).
 *   4. Inspecting and preparing a generated 200 MB CSV: time and peak RSS (bench/data-bench.mjs).
 *   5. The same work through the built web host (inspect, doctor, prepare, startRun on ~200 MB
 *      of AG News rows): host and worker peak RSS, listRuns latency meanwhile
 *      (bench/data-memory-bench.mjs; needs npm run build).
 * Each part prints its own table; the last line is one JSON object with all of them
 * (`npm run bench -- --json` prints only that line). Figures, not tests: a busy machine makes
 * them noisy, so compare numbers taken in one run.
 *
 *   node bench/index.mjs [--json] [--quick]   --quick: fewer steps, a 20 MB CSV
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');

function part(title, script, args) {
  if (!json) console.log(`\n## ${title}\n`);
  const r = spawnSync(process.execPath, [path.join(here, script), ...args], { encoding: 'utf8', timeout: 60 * 60_000, env: process.env });
  const lines = (r.stdout ?? '').trim().split('\n');
  const last = lines.filter((l) => l.startsWith('{')).pop();
  if (!json) {
    for (const l of lines) if (l !== last) console.log(l);
    if (r.status !== 0) console.log(((r.stderr ?? '').trim().split('\n').pop() ?? '') || `exit ${r.status}`);
  }
  try {
    return last ? JSON.parse(last) : { error: (r.stderr ?? '').trim().split('\n').pop() ?? `exit ${r.status}` };
  } catch {
    return { error: 'no JSON summary' };
  }
}

const train = part('Training and inference throughput (bert-mini, batch 16 x 128)', 'train-bench.mjs', ['--steps', quick ? '3' : '6']);
const matmul = part('Matmul GFLOP/s by backend and GEMM path', 'native-matmul.mjs', quick ? ['--quick'] : []);
const profile = part('Where a native training step goes, by op kind', 'native-profile.mjs', ['--backend', 'native', '--steps', quick ? '2' : '3']);
const data = part(`Dataset import: a generated ${quick ? 20 : 200} MB CSV`, 'data-bench.mjs', ['--size-mb', quick ? '20' : '200']);
const dataHost = part(`Data work through the web host: ${quick ? 20 : 200} MB of AG News rows`, 'data-memory-bench.mjs', ['--size-mb', quick ? '20' : '200']);

const summary = {
  ratio_train: train.ratio_train ?? null,
  ratio_infer: train.ratio_infer ?? null,
  train_samples_per_s: train.train_samples_per_s ?? null,
  infer_samples_per_s: train.infer_samples_per_s ?? null,
  best_train_backend: train.best_train_backend ?? null,
  pytorch: train.pytorch ?? null,
  backends: train.backends ?? null,
  matmul,
  native_step_split_ms: profile.train?.byKind ?? null,
  native_step: profile.error ? profile : { wall_ms: profile.train?.wallMs, page_faults_per_step: profile.faultsPerStep, optimizer_ms: profile.optimizerMsPerStep },
  data,
  data_host: dataHost,
};
if (!json) console.log('\n## Summary (JSON)\n');
console.log(JSON.stringify(summary));
