#!/usr/bin/env node
/**
 * Keyword baseline bench: TF-IDF + logistic regression (src/main/engine/baseline) trained on
 * AG News train_5k.csv and scored on test.csv, then on a synthetic training set of N rows made by
 * repeating train_5k (120,000 by default): time of each phase, L-BFGS iterations, accuracy, and
 * memory (peak RSS of this process, and the sparse matrix / weights it holds). With --sklearn,
 * also scikit-learn's figures on train_5k (scripts/sklearn-baseline.py, Debian's python3).
 *
 *   node bench/baseline-bench.mjs [--json] [--rows 120000] [--no-large] [--sklearn]
 *
 * Prints a table, then one JSON object on the last line (with --json, only that line). Figures,
 * not a test: a busy machine makes the times noisy.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { runnerImport } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const agNews = path.resolve(root, '../shared/datasets/ag_news');
const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const json = argv.includes('--json');
const log = json ? () => {} : (...x) => console.log(...x);
const largeRows = Number(opt('rows', 120000));

/** As the app prepares AG News: text = title + " " + description (parts trimmed, empty ones left out), label = class - 1. */
function readAgNews(file) {
  const records = parse(fs.readFileSync(path.join(agNews, file)));
  return {
    texts: records.map((r) => [r[1], r[2]].map((s) => s.trim()).filter((s) => s !== '').join(' ')),
    labels: Int32Array.from(records, (r) => Number(r[0]) - 1),
  };
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const mb = (bytes) => Math.round(bytes / 1e6);

const { module: baseline } = await runnerImport(path.join(root, 'src/main/engine/baseline/index.ts'), { configFile: false, logLevel: 'error' });
const labelNames = ['World', 'Sports', 'Business', 'Sci/Tech'];
const train = readAgNews('train_5k.csv');
const test = readAgNews('test.csv');

async function measure(name, data) {
  peakRss = process.memoryUsage().rss;
  const phases = {};
  let phaseStart = performance.now();
  let phase = 'vectorising';
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const model = await baseline.trainBaseline(
    { ...data, labelNames },
    {
      onProgress: (_done, _total, p) => {
        if (p !== phase) {
          phases[phase] = (performance.now() - phaseStart) / 1000;
          phase = p;
          phaseStart = performance.now();
        }
      },
    },
  );
  phases[phase] = (performance.now() - phaseStart) / 1000;
  const trainSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const trainCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const t1 = performance.now();
  const report = await baseline.evaluateBaseline(model, test.texts, test.labels);
  const evalSeconds = (performance.now() - t1) / 1000;
  const result = {
    rows: data.texts.length,
    features: model.fit.features,
    iterations: model.fit.iterations,
    converged: model.fit.converged,
    stopReason: model.fit.stopReason,
    lbfgsHistory: model.fit.history,
    trainSeconds: +trainSeconds.toFixed(2),
    trainCpuSeconds: +trainCpuSeconds.toFixed(2),
    vectoriseSeconds: +phases.vectorising.toFixed(2),
    fitSeconds: +(phases.fitting ?? 0).toFixed(2),
    evalSeconds: +evalSeconds.toFixed(2),
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    perClassF1: Object.fromEntries(report.perClass.map((c) => [c.label, c.f1])),
    modelMB: mb(baseline.baselineBytes(model)),
    peakRssMB: mb(peakRss),
  };
  log(
    `${name.padEnd(22)} ${String(result.rows).padStart(7)} rows  ${String(result.features).padStart(7)} features  ` +
      `train ${result.trainSeconds.toFixed(1)} s wall, ${result.trainCpuSeconds.toFixed(1)} s CPU (vectorise ${result.vectoriseSeconds.toFixed(1)}, fit ${result.fitSeconds.toFixed(1)}, ${result.iterations} it, ${result.stopReason})  ` +
      `eval ${result.evalSeconds.toFixed(1)} s  acc ${(100 * result.accuracy).toFixed(2)} %  macro-F1 ${result.macroF1.toFixed(4)}  peak RSS ${result.peakRssMB} MB`,
  );
  return result;
}

const results = { train5k: await measure('train_5k -> test', train) };
if (!argv.includes('--no-large')) {
  const repeats = Math.ceil(largeRows / train.texts.length);
  const texts = [];
  const labels = new Int32Array(largeRows);
  for (let i = 0; i < largeRows; i++) {
    texts.push(train.texts[i % train.texts.length]);
    labels[i] = train.labels[i % train.texts.length];
  }
  results.large = await measure(`train_5k x ${repeats} -> test`, { texts, labels });
}
if (argv.includes('--sklearn')) {
  const r = spawnSync('/usr/bin/python3', [path.join(root, 'scripts/sklearn-baseline.py'), '--ag-news', agNews], { encoding: 'utf8' });
  if (r.status === 0) {
    results.sklearn = JSON.parse(r.stdout);
    log(`scikit-learn ${results.sklearn.sklearn}: train_5k -> test  acc ${(100 * results.sklearn.accuracy).toFixed(2)} %  macro-F1 ${results.sklearn.macroF1.toFixed(4)}  (${results.sklearn.seconds} s, ${results.sklearn.iterations} it)`);
  } else log(`scikit-learn did not run: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
}
clearInterval(sampler);
console.log(JSON.stringify(results));
