/**
 * Kills: a tiny from-scratch model (`finetune init` from the BERT fixture's config) trained by
 * the real CLI (`finetune train --backend cpu`), once uninterrupted, once killed again and again:
 * SIGKILL of the engine worker in the middle of an epoch, while it writes a checkpoint, while it
 * writes the best model, and SIGKILL of the CLI process itself (the parent). After each kill:
 * integrity_check of the database, and `finetune resume` must continue from the newest complete
 * checkpoint (its first step is that checkpoint's step + 1). At the end the killed run's losses
 * are compared with the uninterrupted run's, step by step, for bit equality.
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { AG_NEWS, BERT_FIXTURE, alive, api, childEnv, childPids, followCli, integrity, newestCheckpointStep, runCli, runStatus, sleep, startServe, stepLosses, tempDir } from './common.mjs';

/**
 * A session in the web host: `node out/main/serve.js` on the same data folder resumes the run
 * (resumeRun over HTTP), and is SIGKILLed at a step, as the CLI is. Its steps are read from the
 * event stream. Resolves like followCli's done, with the first step seen and the kill.
 */
async function serveSession(home, runId, target) {
  const server = await startServe(home);
  let firstStep = null;
  let killedAt = null;
  const stream = http.get({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${server.token}`, headers: { host: `127.0.0.1:${server.port}` } }, (res) => {
    let buffer = '';
    res.on('data', (d) => {
      buffer += d;
      for (let i; (i = buffer.indexOf('\n\n')) >= 0; ) {
        const frame = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event !== 'run-step' || !data) continue;
        const e = JSON.parse(data);
        if (e.runId !== runId || e.stage === 'mlm') continue;
        firstStep ??= e.step;
        if (e.step >= target && !killedAt) {
          killedAt = { why: `step ${e.step} (web host)`, at: performance.now(), worker: childPids(server.child.pid)[0] };
          server.child.kill('SIGKILL');
        }
      }
    });
    res.on('error', () => {});
  });
  stream.on('error', () => {});
  await sleep(300); // the stream is connected before the run resumes
  const resumed = await api(server, 'resumeRun', [runId], { timeoutMs: 60_000 });
  if (!resumed.ok) {
    await server.stop();
    return { end: { code: 1, signal: null, stderr: JSON.stringify(resumed.error ?? resumed.transport) }, firstStep, killedAt };
  }
  const code = await new Promise((r) => (server.child.exitCode !== null || server.child.signalCode !== null ? r(server.child.signalCode ?? server.child.exitCode) : server.child.once('exit', (c, sig) => r(sig ?? c))));
  stream.destroy();
  return { end: { code: typeof code === 'number' ? code : null, signal: typeof code === 'string' ? code : null, stderr: server.stderr() }, firstStep, killedAt };
}

/** A small deterministic generator (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function killCampaign(o) {
  const log = o.log ?? console.log;
  const home = tempDir('ft-safety-kills-');
  const env = childEnv(home);
  const csv = path.join(home, 'train.csv');
  fs.writeFileSync(csv, fs.readFileSync(path.join(AG_NEWS, 'train_5k.csv'), 'utf8').split('\n').slice(0, o.rows).join('\n') + '\n');
  fs.copyFileSync(path.join(AG_NEWS, 'classes.txt'), path.join(home, 'classes.txt'));
  const model = path.join(home, 'model');
  const init = await runCli(['init', '--config', path.join(BERT_FIXTURE, 'config.json'), '--tokenizer', BERT_FIXTURE, '--out', model, '--seed', '3'], env);
  if (init.code !== 0) throw new Error(`finetune init failed: ${init.stderr}`);
  const trainArgs = (name) => ['train', '--model', model, '--train', csv, '--epochs', String(o.epochs), '--batch-size', '8', '--max-length', '32', '--backend', 'cpu', '--seed', '7', '--lr', '1e-3', '--name', name, '--json'];

  // The uninterrupted run.
  const t0 = performance.now();
  let refId = null;
  let stepsPerEpoch = 0;
  let totalSteps = 0;
  const ref = followCli(trainArgs('reference'), env, (e) => {
    if (e.event === 'start') refId = e.run_id;
    if (e.event === 'step' && e.stage === 'finetune') {
      totalSteps = e.total_steps;
      if (stepsPerEpoch === 0 && e.epoch === 1) stepsPerEpoch = e.step;
    }
  });
  const refEnd = await ref.done;
  if (refEnd.code !== 0 || !refId) throw new Error(`the reference run failed (${refEnd.code}): ${refEnd.stderr.slice(-500)}`);
  const reference = stepLosses(home, refId);
  const referenceSeconds = (performance.now() - t0) / 1000;
  log(`  reference run ${refId}: ${reference.length} steps (${stepsPerEpoch} per epoch) in ${referenceSeconds.toFixed(1)} s`);

  // The plan: a best-model write first (the first evaluation is always a new best), then the rest shuffled.
  const random = rng(o.seed ?? 12);
  const rest = [
    ...Array(Math.max(0, o.modelKills - 1)).fill('model'),
    ...Array(o.checkpointKills).fill('checkpoint'),
    ...Array(o.workerKills).fill('worker'),
    ...Array(o.parentKills).fill('parent'),
    ...Array(o.serveKills ?? 0).fill('serve'),
  ];
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j], rest[i]];
  }
  const plan = o.modelKills > 0 ? ['model', ...rest] : rest;

  const kills = [];
  let runId = null;
  let runDir = null;
  let session = 0;
  let finished = false;
  const started = performance.now();
  while (!finished) {
    const kind = plan[session] ?? 'none';
    const resumeFrom = runDir ? newestCheckpointStep(runDir) : 0;
    const args = runId ? ['resume', runId, '--json'] : trainArgs('killed');
    // A step to kill at, not at an epoch end (a worker kill), ahead of where the run resumes.
    const span = Math.max(1, totalSteps - resumeFrom - 2);
    const target = resumeFrom + 1 + Math.floor(random() * Math.min(span, stepsPerEpoch * 2));
    let firstStep = null;
    let killedAt = null;
    let watcher = null;
    let cli = null;
    const killWorker = (why) => {
      if (killedAt) return;
      const worker = childPids(cli.pid)[0];
      if (!worker) return;
      killedAt = { why, at: performance.now(), worker };
      process.kill(worker, 'SIGKILL');
    };
    const watch = (dir) => {
      watcher = fs.watch(dir, { recursive: true }, (_ev, name) => {
        const base = path.basename(String(name ?? ''));
        if (kind === 'checkpoint' && base.startsWith('.tmp-checkpoint-')) killWorker('checkpoint write');
        if (kind === 'model' && /^\.model\.(tmp|new)/.test(base)) killWorker('best-model write');
      });
    };
    let served = null;
    if (kind === 'serve' && runId) {
      const s = await serveSession(home, runId, target);
      firstStep = s.firstStep;
      killedAt = s.killedAt;
      served = s.end;
    }
    const run = kind === 'serve' && runId ? null : followCli(args, env, (e, child) => {
      cli = child;
      if (e.event === 'start') {
        runId = e.run_id;
        runDir = e.run_dir;
        if (kind === 'checkpoint' || kind === 'model') watch(runDir);
      }
      if (e.event === 'step' && e.stage === 'finetune') {
        firstStep ??= e.step;
        if (kind === 'worker' && e.step >= target) killWorker(`step ${e.step}`);
        // A write that did not come (no new best model this session): the worker is killed
        // mid-epoch instead, so every planned kill happens before the run can finish.
        // (The last epoch writes no checkpoint: near the end the fallback comes sooner.)
        const fallbackAt = Math.min(resumeFrom + 2 * stepsPerEpoch + 1, totalSteps - 1);
        if ((kind === 'checkpoint' || kind === 'model') && e.step >= fallbackAt && e.step % stepsPerEpoch !== 0) {
          killWorker(`step ${e.step} (no ${kind === 'model' ? 'best-model' : 'checkpoint'} write came)`);
          if (killedAt) killedAt.fallback = true;
        }
        if (kind === 'parent' && e.step >= target && !killedAt) {
          killedAt = { why: `step ${e.step}`, at: performance.now(), worker: childPids(child.pid)[0] };
          child.kill('SIGKILL');
        }
      }
    });
    cli = run?.child ?? null;
    const end = run ? await run.done : served;
    watcher?.close();
    // Leftovers of the write the kill cut (the next start sweeps them): proof it landed mid-write.
    const leftovers = runDir ? listTemp(runDir) : [];
    let orphanWorker = null;
    if ((kind === 'parent' || kind === 'serve') && killedAt?.worker) {
      const until = performance.now() + 20_000;
      while (alive(killedAt.worker) && performance.now() < until) await sleep(100);
      orphanWorker = alive(killedAt.worker);
      if (orphanWorker) process.kill(killedAt.worker, 'SIGKILL');
    }
    const check = integrity(home);
    const newest = newestCheckpointStep(runDir);
    const status = runStatus(home, runId);
    const entry = {
      session,
      kind: killedAt ? (killedAt.fallback ? 'worker' : kind) : 'none',
      killedAt: killedAt?.why ?? null,
      planned: kind,
      exit: end.code ?? end.signal,
      resumedAt: firstStep,
      expectedResume: session === 0 ? 1 : resumeFrom + 1,
      integrity: check,
      newestCheckpoint: newest,
      leftovers: leftovers.length,
      status: status?.status,
      orphanWorker,
    };
    if (!killedAt) {
      finished = end.code === 0 && status?.status === 'completed';
      if (!finished) {
        entry.kind = 'unplanned';
        entry.error = end.stderr.slice(-400);
      }
      kills.push(entry);
      if (!finished && session > plan.length + 3) break;
    } else kills.push(entry);
    log(`  session ${session}: ${entry.kind}${entry.killedAt ? ` at ${entry.killedAt}` : ''} -> exit ${entry.exit}, resumed at step ${firstStep} (expected ${entry.expectedResume}), integrity ${check}, newest checkpoint ${newest}, temp leftovers ${leftovers.length}${orphanWorker ? ', worker outlived its parent' : ''}`);
    session++;
  }
  const killed = stepLosses(home, runId);
  let identical = 0;
  let maxDiff = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = reference[i]?.loss;
    const b = killed[i]?.loss;
    if (a === b && reference[i].step === killed[i]?.step) identical++;
    else maxDiff = Math.max(maxDiff, Math.abs((a ?? NaN) - (b ?? NaN)) || Infinity);
  }
  const done = kills.filter((k) => k.kind !== 'none' && k.kind !== 'unplanned');
  // Each kill is judged by the session after it: did it resume from the newest checkpoint.
  const resumedRight = done.filter((k) => {
    const next = kills[k.session + 1];
    return next && next.resumedAt === k.newestCheckpoint + 1;
  }).length;
  const result = {
    runId,
    steps: reference.length,
    stepsPerEpoch,
    kills: done.length,
    byKind: Object.fromEntries(['worker', 'checkpoint', 'model', 'parent', 'serve'].map((k) => [k, done.filter((d) => d.kind === k).length])),
    landedMidWrite: done.filter((k) => (k.kind === 'checkpoint' || k.kind === 'model') && k.leftovers > 0).length,
    integrityOk: kills.every((k) => k.integrity === 'ok'),
    integrityChecks: kills.length,
    resumedFromNewestCheckpoint: resumedRight,
    orphanWorkers: kills.filter((k) => k.orphanWorker).length,
    /** Checkpoint or best-model kills whose write did not come in that session (killed mid-epoch instead). */
    writeKillsMissed: done.filter((k) => k.planned !== k.kind).length,
    finished,
    lossesIdentical: identical,
    lossesCompared: reference.length,
    bitIdentical: finished && identical === reference.length && killed.length === reference.length,
    maxAbsDiff: maxDiff,
    referenceSeconds: +referenceSeconds.toFixed(1),
    killedRunSeconds: +((performance.now() - started) / 1000).toFixed(1),
    sessions: kills,
  };
  if (!o.keep) fs.rmSync(home, { recursive: true, force: true });
  return result;
}

function listTemp(runDir) {
  const out = [];
  for (const dir of [runDir, path.join(runDir, 'checkpoints')]) {
    try {
      for (const name of fs.readdirSync(dir)) if (/^\.(tmp-checkpoint-|model\.(tmp|new|old))/.test(name)) out.push(name);
    } catch {
      // none
    }
  }
  return out;
}
