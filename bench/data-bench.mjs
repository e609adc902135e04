#!/usr/bin/env node
/**
 * Dataset import bench: generates a CSV (200 MB by default) in the temp folder, inspects it and
 * prepares it (stratified 10 % split), and prints the time of each step and the peak RSS of the
 * process, which must stay under 500 MB (bounded-memory streaming). Prints the figures as text
 * and as one JSON line. Exits 1 when the peak RSS is over the limit.
 *
 *   node bench/data-bench.mjs [--size-mb 200] [--keep]
 *
 * The TypeScript sources are loaded with vite's module runner, whose own memory is part of the
 * baseline RSS printed before the work starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const sizeArg = args.indexOf('--size-mb');
const targetMb = sizeArg >= 0 ? Number(args[sizeArg + 1]) : 200;
const keep = args.includes('--keep');
const RSS_LIMIT_MB = 500;

if (!(targetMb > 0)) {
  console.error('error: --size-mb needs a positive number');
  process.exit(2);
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;
const peakRssMb = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

/** Writes a CSV of about targetMb: id, text (quoted, with commas, quotes, some line breaks), label. */
async function generate(file, megabytes) {
  const words = 'market shares rose fell after report quarter team won lost match season government vote election policy new study shows research data phone launch'.split(' ');
  const labels = ['business', 'sports', 'politics', 'science', 'world'];
  const weights = [0.35, 0.25, 0.2, 0.15, 0.05];
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out = fs.createWriteStream(file);
  out.write('id,text,label\n');
  let bytes = 14;
  let rows = 0;
  const target = megabytes * 1024 * 1024;
  while (bytes < target) {
    const lines = [];
    for (let k = 0; k < 2000; k++) {
      const n = 15 + Math.floor(random() * 40);
      const parts = [];
      for (let i = 0; i < n; i++) parts.push(words[Math.floor(random() * words.length)]);
      if (rows % 7 === 0) parts.splice(3, 0, 'a "quoted", word');
      if (rows % 97 === 0) parts.splice(5, 0, '\nsecond line');
      let r = random();
      let label = labels.length - 1;
      for (let j = 0; j < weights.length; j++) {
        if (r < weights[j]) {
          label = j;
          break;
        }
        r -= weights[j];
      }
      const text = `${parts.join(' ')} #${rows}`;
      lines.push(`${rows},"${text.replaceAll('"', '""')}",${labels[label]}\n`);
      rows++;
    }
    const chunk = lines.join('');
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return { rows, bytes: fs.statSync(file).size };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-data-bench-'));
const file = path.join(tmp, `bench-${targetMb}mb.csv`);
const dataDir = path.join(tmp, 'data');
try {
  const { module: data } = await runnerImport(path.join(root, 'src/main/data/index.ts'), { configFile: false, logLevel: 'error' });
  let t = performance.now();
  const generated = await generate(file, targetMb);
  const generateSeconds = (performance.now() - t) / 1000;
  const baselineRss = rssMb();
  const mb = generated.bytes / 1024 / 1024;
  console.log(`data bench: ${mb.toFixed(1)} MB CSV, ${generated.rows.toLocaleString('en-US')} rows (generated in ${generateSeconds.toFixed(1)} s)`);
  console.log(`  baseline RSS ${baselineRss.toFixed(0)} MB (node + vite module runner), peak so far ${peakRssMb().toFixed(0)} MB`);

  t = performance.now();
  const inspection = await data.inspectDataset(file);
  const inspectSeconds = (performance.now() - t) / 1000;
  const peakAfterInspect = peakRssMb();
  console.log(
    `  inspect: ${inspectSeconds.toFixed(1)} s (${(mb / inspectSeconds).toFixed(1)} MB/s), ${inspection.rowCount.toLocaleString('en-US')} rows, ${inspection.skipped.count} skipped, labels ${inspection.labelDistribution.map((l) => `${l.label} ${l.count}`).join(', ')}; peak RSS ${peakAfterInspect.toFixed(0)} MB`,
  );
  if (inspection.rowCount !== generated.rows) throw new Error(`inspect counted ${inspection.rowCount} rows, ${generated.rows} were written`);

  t = performance.now();
  const meta = await data.prepareDataset({ file, mapping: inspection.suggestedMapping, split: { kind: 'ratio', evalRatio: 0.1, seed: 42 } }, dataDir);
  const prepareSeconds = (performance.now() - t) / 1000;
  const peak = peakRssMb();
  console.log(
    `  prepare: ${prepareSeconds.toFixed(1)} s (${(mb / prepareSeconds).toFixed(1)} MB/s), ${meta.trainCount.toLocaleString('en-US')} train + ${meta.evalCount.toLocaleString('en-US')} eval rows; peak RSS ${peak.toFixed(0)} MB`,
  );
  if (meta.trainCount + meta.evalCount !== generated.rows) throw new Error('prepare lost rows');
  const ok = peak < RSS_LIMIT_MB;
  console.log(`  peak RSS ${peak.toFixed(0)} MB ${ok ? '<' : '>='} ${RSS_LIMIT_MB} MB limit: ${ok ? 'ok' : 'OVER'}`);
  console.log(
    JSON.stringify({
      bench: 'data-import',
      fileMB: Number(mb.toFixed(1)),
      rows: generated.rows,
      inspectSeconds: Number(inspectSeconds.toFixed(2)),
      prepareSeconds: Number(prepareSeconds.toFixed(2)),
      inspectMBps: Number((mb / inspectSeconds).toFixed(1)),
      prepareMBps: Number((mb / prepareSeconds).toFixed(1)),
      baselineRssMB: Math.round(baselineRss),
      peakRssMB: Math.round(peak),
      rssLimitMB: RSS_LIMIT_MB,
      ok,
      node: process.version,
      cpus: os.cpus().length,
    }),
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  if (keep) console.log(`  kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
