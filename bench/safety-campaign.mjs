#!/usr/bin/env node
/**
 * `npm run bench:safety`: the outside safety campaign of issue 12 against the built processes
 * (`npx electron-vite build` first): the `finetune` CLI and the web host `out/main/serve.js`,
 * each with its own FINETUNE_HOME in the temp folder.
 *
 *   1. kills     SIGKILL of the engine worker (mid-epoch, during a checkpoint write, during a
 *                best-model write), of the CLI process, and of a web host that resumed the run over
 *                HTTP; integrity_check after each, resume from
 *                the newest checkpoint, final losses bit-identical to an uninterrupted run.
 *   2. fuzz      random and malformed calls to every API method: 5xx, hangs (>10 s), stack
 *                traces, internal errors, 413 for oversized bodies.
 *   3. origin    foreign Origin / Sec-Fetch-Site, cookie only, wrong Host, no token: all refused.
 *   4. nasty     hostile CSVs through inspectDataset and prepareDataset: internal errors, clear
 *                errors, successes, hangs (then cancelled).
 *   5. held      listRuns latency alone, under N slowloris sockets, under N SSE clients, both.
 *
 *   node bench/safety-campaign.mjs [--json] [--quick] [--only kills,fuzz,origin,nasty,held]
 *     [--worker-kills 10] [--checkpoint-kills 2] [--model-kills 2] [--parent-kills 3] [--serve-kills 2]
 *     [--rows 80] [--epochs 8] [--fuzz-calls 1500] [--sockets 1000] [--latency-calls 200]
 *     [--nasty-scale 1] [--hang 120] [--keep]
 *
 * --quick: fewer kills, a shorter run, 300 fuzz calls, 200 sockets, smaller nasty files.
 * Prints each part's lines, a summary, then one JSON object on the last line (--json: only that).
 * Figures, not a test: a busy machine makes the times noisy; the counts are what matter.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runnerImport } from 'vite';
import { ROOT, SERVE, startServe, tempDir } from './safety/common.mjs';
import { crossOriginCampaign, fuzzCampaign } from './safety/fuzz.mjs';
import { heldCampaign } from './safety/held.mjs';
import { killCampaign } from './safety/kills.mjs';
import { nastyCampaign } from './safety/nasty.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const num = (name, def) => Number(opt(name, def));
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const keep = argv.includes('--keep');
const only = new Set(opt('only', 'kills,fuzz,origin,nasty,held').split(','));
const log = json ? () => {} : (...x) => console.log(...x);

if (!fs.existsSync(SERVE)) {
  console.error(`${SERVE} is missing: run "npx electron-vite build" first.`);
  process.exit(1);
}

const { module: schema } = await runnerImport(path.join(ROOT, 'src/shared/schema.ts'), { configFile: false, logLevel: 'error' });
const results = {};
const started = performance.now();
const section = (title) => log(`\n## ${title}\n`);

if (only.has('kills')) {
  section('Kills (SIGKILL of the worker and of the CLI; resume; losses)');
  const t = performance.now();
  results.kills = await killCampaign({
    rows: num('rows', quick ? 40 : 80),
    epochs: num('epochs', quick ? 4 : 8),
    workerKills: num('worker-kills', quick ? 2 : 10),
    checkpointKills: num('checkpoint-kills', quick ? 1 : 2),
    modelKills: num('model-kills', quick ? 1 : 2),
    parentKills: num('parent-kills', quick ? 1 : 3),
    serveKills: num('serve-kills', quick ? 1 : 2),
    keep,
    log,
  });
  results.kills.seconds = +((performance.now() - t) / 1000).toFixed(1);
  const k = results.kills;
  log(`  => ${k.kills} kills (${JSON.stringify(k.byKind)}; ${k.landedMidWrite} landed mid-write; ${k.writeKillsMissed} planned write kills found no write and killed mid-epoch), integrity_check ok after all: ${k.integrityOk}, resumed from the newest checkpoint: ${k.resumedFromNewestCheckpoint}/${k.kills}, workers outliving their parent: ${k.orphanWorkers}, finished: ${k.finished}, losses bit-identical: ${k.lossesIdentical}/${k.lossesCompared}`);
}

const needServer = ['fuzz', 'origin', 'nasty', 'held'].some((p) => only.has(p));
if (needServer) {
  const home = tempDir('ft-safety-serve-');
  const server = await startServe(home);
  log(`\n(web host on port ${server.port}, data folder ${home})`);
  try {
    if (only.has('fuzz')) {
      section('Fuzz (random and malformed calls to every API method)');
      results.fuzz = await fuzzCampaign(server, { home, calls: num('fuzz-calls', quick ? 300 : 1500), methods: schema.API_METHODS, log });
    }
    if (only.has('origin')) {
      section('Cross-origin and credentials');
      results.origin = await crossOriginCampaign(server, { log });
    }
    if (only.has('nasty')) {
      section('Nasty files (inspect, then prepare)');
      const t = performance.now();
      results.nasty = await nastyCampaign(server, { home, scale: num('nasty-scale', quick ? 0.1 : 1), hangSeconds: num('hang', quick ? 30 : 120), log });
      results.nasty.seconds = +((performance.now() - t) / 1000).toFixed(1);
    }
    if (only.has('held')) {
      section('Requests held (listRuns latency)');
      results.held = await heldCampaign(server, { sockets: num('sockets', quick ? 200 : 1000), calls: num('latency-calls', quick ? 50 : 200), log });
    }
    // The host is still there and its database whole.
    results.serverAlive = server.child.exitCode === null && server.child.signalCode === null;
    const stderr = server.stderr();
    results.serverErrorLines = stderr.split('\n').filter((l) => /error/i.test(l)).length;
    results.serverStderrTail = stderr.slice(-1500);
  } finally {
    await server.stop();
    if (!keep) fs.rmSync(home, { recursive: true, force: true });
  }
}

results.seconds = +((performance.now() - started) / 1000).toFixed(1);
section('Summary');
if (results.kills) {
  const k = results.kills;
  log(`kills:   ${k.kills} SIGKILLs (worker mid-epoch ${k.byKind.worker}, checkpoint write ${k.byKind.checkpoint}, best-model write ${k.byKind.model}, CLI parent ${k.byKind.parent}, web host parent ${k.byKind.serve}; ${k.landedMidWrite} caught a write half done); integrity_check ok ${k.integrityOk ? 'after every one' : 'NOT after every one'}; resumed from the newest checkpoint ${k.resumedFromNewestCheckpoint}/${k.kills}; a ${k.steps}-step run killed ${k.kills} times ended ${k.bitIdentical ? 'bit-identical' : `NOT bit-identical (max |diff| ${k.maxAbsDiff})`} to the uninterrupted one`);
}
if (results.fuzz) {
  const f = results.fuzz;
  log(`fuzz:    ${f.calls} calls to ${f.methodsCovered}/${f.methods} methods: ${f.fiveXX} 5xx, ${f.hangs} hangs, ${f.stackTraces} stack traces, ${f.internal} internal errors; ${f.oversized413}/${f.oversized} oversized bodies answered 413; host alive after: ${f.aliveAfter}`);
}
if (results.origin) log(`origin:  ${results.origin.refused}/${results.origin.cases} refused (the proper call: ${results.origin.controlStatus})`);
if (results.nasty) {
  const n = results.nasty;
  log(`nasty:   ${n.files} files, ${n.calls} calls: ${n.internal} internal errors, ${n.clear} clear errors, ${n.unclear} unclear, ${n.ok} successes (${n.prepared} prepared), ${n.hangs} hangs`);
}
if (results.held) {
  const h = results.held;
  const f = (x) => `${x.medianMs}/${x.p95Ms} ms`;
  log(`held:    listRuns median/p95 alone ${f(h.alone)}; under ${h.sockets} slowloris ${f(h.slowloris)}; under ${h.sockets} SSE ${f(h.sse)}; both ${f(h.both)}`);
}
log(`total:   ${results.seconds} s`);
console.log(JSON.stringify(results));
