#!/usr/bin/env node
/**
 * Heavy data work through the real web host: generates a CSV of AG News-like rows (about 200 MB,
 * about 850k rows built from ../shared/datasets/ag_news/train_5k.csv) in a temp folder, starts
 * `node out/main/serve.js` with its own FINETUNE_HOME, and calls the API as the page does:
 * inspectDataset, doctorDataset, prepareDataset, then startRun with a tiny from-scratch model
 * (cancelled at its first training step, or after --run-timeout seconds). prepareDataset also
 * trains the keyword baseline (in the engine worker), which takes many minutes on 750k rows:
 * the bench cancels that phase as soon as it starts (the dataset is ready then), unless
 * --with-baseline.
 *
 * While each call runs it samples, every 50 ms, the RSS of the host process and of its child
 * processes (the engine worker), and calls listRuns every 100 ms, timing each answer. Prints, per
 * call: its time, the host's and the workers' peak RSS, and listRuns latency (median, max); then
 * the host's VmHWM (its lifetime peak) and one JSON line.
 *
 *   node bench/data-memory-bench.mjs [--size-mb 200] [--run-timeout 300] [--with-baseline] [--keep]
 *
 * Needs the build (npm run build). Linux only (/proc). Figures, not a test: a busy machine
 * makes them noisy.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const argOf = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const targetMb = argOf('--size-mb', 200);
const runTimeoutS = argOf('--run-timeout', 300);
const keep = args.includes('--keep');
const withBaseline = args.includes('--with-baseline');
const serveJs = path.join(root, 'out/main/serve.js');
const agNews = path.join(root, '../shared/datasets/ag_news');

if (!(targetMb > 0)) {
  console.error('error: --size-mb needs a positive number');
  process.exit(2);
}
if (!fs.existsSync(serveJs)) {
  console.error(`error: ${serveJs} is missing: run "npm run build" first.`);
  process.exit(2);
}

/** AG News rows (class, title, description), each copy made unique by a number in its description. */
async function generate(file, megabytes) {
  const source = fs
    .readFileSync(path.join(agNews, 'train_5k.csv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const out = fs.createWriteStream(file);
  const target = megabytes * 1024 * 1024;
  let bytes = 0;
  let rows = 0;
  while (bytes < target) {
    const lines = [];
    for (const line of source) {
      // "1","title","description" -> the description ends with " (#n)".
      lines.push(`${line.replace(/"\s*$/, ` (#${rows})"`)}\n`);
      rows++;
    }
    const chunk = lines.join('');
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return { rows, bytes: fs.statSync(file).size };
}

const statusKb = (pid, field) => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
};

function childrenOf(pid) {
  const out = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out.flatMap((c) => [c, ...childrenOf(c)]);
}

const median = (xs) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const mb = (kb) => Math.round(kb / 1024);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-data-memory-'));
const home = path.join(tmp, 'home');
const file = path.join(tmp, `ag-news-${targetMb}mb.csv`);
let host = null;

async function main() {
  const t = performance.now();
  const gen = await generate(file, targetMb);
  console.log(`generated ${file}: ${(gen.bytes / 1024 / 1024).toFixed(1)} MB, ${gen.rows.toLocaleString('en-US')} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  host = spawn(process.execPath, [serveJs, '--port', '0'], { env: { ...process.env, FINETUNE_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let text = '';
    host.stdout.on('data', (d) => {
      text += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(text);
      if (m) resolve(new URL(m[1]));
    });
    host.once('exit', (code) => reject(new Error(`the web host exited (${code}) before serving`)));
  });
  const token = url.searchParams.get('token');
  const base = `${url.protocol}//${url.host}`;
  // node:http, not fetch: fetch gives up on an answer that takes over 300 s (prepare with its baseline can).
  // One connection per call: a kept-alive socket the host has just closed would answer ECONNRESET.
  const agent = new http.Agent({ keepAlive: false });
  const call = (method, ...params) =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify(params);
      const req = http.request(
        `${base}/api/${method}`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-finetune-token': token } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            try {
              const body = JSON.parse(text);
              if (body.ok) resolve(body.value);
              else reject(new Error(`${method}: ${body.error?.code}: ${body.error?.message}`));
            } catch (err) {
              reject(new Error(`${method}: HTTP ${res.statusCode}: ${err.message}`));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  // Run events (the first training step ends the startRun part).
  const events = new EventTarget();
  const sse = await fetch(`${base}/api/events`, { headers: { 'x-finetune-token': token } });
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of sse.body) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name) events.dispatchEvent(Object.assign(new Event(name), { data: data ? JSON.parse(data) : null }));
        }
      }
    } catch {
      // closed at the end
    }
  })();

  const baseline = { hostRssMb: mb(statusKb(host.pid, 'VmRSS')) };
  await call('listRuns');
  console.log(`host pid ${host.pid}, RSS after start ${baseline.hostRssMb} MB`);

  /** Runs fn while sampling memory and listRuns latency. */
  async function measured(name, fn) {
    let hostPeak = 0;
    let workerPeak = 0;
    const sampler = setInterval(() => {
      hostPeak = Math.max(hostPeak, statusKb(host.pid, 'VmRSS'));
      for (const c of childrenOf(host.pid)) workerPeak = Math.max(workerPeak, statusKb(c, 'VmRSS'));
    }, 50);
    const latencies = [];
    let failures = 0;
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        const started = performance.now();
        const ok = await call('listRuns').then(
          () => true,
          () => false,
        );
        const ms = performance.now() - started;
        if (ok) latencies.push(ms);
        else failures++;
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - ms)));
      }
    })();
    const started = performance.now();
    let value;
    let error = null;
    try {
      value = await fn();
    } catch (err) {
      error = err.message;
    }
    const seconds = (performance.now() - started) / 1000;
    stop = true;
    await poller;
    clearInterval(sampler);
    const r = {
      name,
      seconds: Number(seconds.toFixed(1)),
      hostPeakRssMb: mb(hostPeak),
      workerPeakRssMb: workerPeak ? mb(workerPeak) : null,
      listRunsMedianMs: Number((median(latencies) ?? 0).toFixed(1)),
      listRunsMaxMs: Number(Math.max(0, ...latencies).toFixed(1)),
      listRunsCalls: latencies.length,
      ...(failures ? { listRunsFailed: failures } : {}),
      ...(error ? { error } : {}),
    };
    console.log(
      `${name.padEnd(10)} ${String(r.seconds).padStart(7)} s  host peak ${String(r.hostPeakRssMb).padStart(5)} MB  worker peak ${String(r.workerPeakRssMb ?? '-').padStart(5)} MB  listRuns median ${r.listRunsMedianMs} ms, max ${r.listRunsMaxMs} ms (${r.listRunsCalls} calls)${error ? `  ERROR ${error}` : ''}`,
    );
    return { r, value };
  }

  const mapping = { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: { 1: 'World', 2: 'Sports', 3: 'Business', 4: 'Sci/Tech' } };
  const results = [];
  const inspect = await measured('inspect', () => call('inspectDataset', file));
  results.push(inspect.r);
  results.push((await measured('doctor', () => call('doctorDataset', { kind: 'file', file, mapping, split: { kind: 'ratio', evalRatio: 0.1, seed: 42 } }))).r);
  const onTask = (e) => {
    if (!withBaseline && e.data?.taskId === 'bench-prepare' && e.data.phase === 'keyword baseline') {
      events.removeEventListener('task-progress', onTask);
      void call('cancelTask', 'bench-prepare').catch(() => undefined);
    }
  };
  events.addEventListener('task-progress', onTask);
  const prepared = await measured('prepare', () => call('prepareDataset', { file, mapping, split: { kind: 'ratio', evalRatio: 0.1, seed: 42 } }, 'bench-prepare'));
  results.push(prepared.r);
  if (prepared.value) {
    const scratch = await call('createScratchModel', { shape: 'tiny', labels: prepared.value.labels });
    const run = await measured('startRun', async () => {
      const started = await call('startRun', {
        name: 'memory bench',
        model: scratch.dir,
        datasetId: prepared.value.id,
        options: { epochs: 1, learningRate: 1e-3, batchSize: 8, maxLength: 32, warmupRatio: 0, warmupSteps: 0, weightDecay: 0, gradientAccumulationSteps: 1, maxGradNorm: 1, seed: 1, earlyStoppingPatience: null, bestMetric: 'accuracy', evalEverySteps: null, classWeights: null, freezeEncoder: false, groupByLength: false, evalBatchSize: 64 },
      });
      // Until the first training step (the rows are read and tokenised), then cancel.
      const outcome = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), runTimeoutS * 1000);
        const done = (how) => {
          clearTimeout(timer);
          resolve(how);
        };
        events.addEventListener('run-step', (e) => e.data?.runId === started.id && done('first step'));
        events.addEventListener('run-status', (e) => e.data?.runId === started.id && !['running', 'queued'].includes(e.data.status) && done(e.data.status));
      });
      await call('cancelRun', started.id).catch(() => undefined);
      return outcome;
    });
    run.r.outcome = run.value;
    results.push(run.r);
    console.log(`startRun ended at: ${run.value}`);
  }
  const hostHwmMb = mb(statusKb(host.pid, 'VmHWM'));
  console.log(`host VmHWM (lifetime peak RSS): ${hostHwmMb} MB`);
  console.log(JSON.stringify({ file_mb: Number((gen.bytes / 1024 / 1024).toFixed(1)), rows: gen.rows, host_start_rss_mb: baseline.hostRssMb, host_hwm_mb: hostHwmMb, steps: results }));
}

try {
  await main();
} finally {
  if (host && host.exitCode === null) {
    host.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    if (host.exitCode === null) host.kill('SIGKILL');
  }
  if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  else console.log(`kept ${tmp}`);
}
process.exit(0);
