import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDataset, preparedDatasetDir } from '../../src/main/data';
import { RECOMMENDED_OPTIONS, type RunConfig } from '../../src/shared/run-config';
import type { PreparedDataset } from '../../src/shared/dataset';
import type { RunSummary } from '../../src/shared/types';
import { latestCheckpoint } from '../../src/main/engine/checkpoint';
import { runDir } from '../../src/main/paths';
import { fixtureDir } from '../helpers/reference';
import { agNewsSample, testApp, type TestApp } from '../helpers/app';

let t: TestApp;
let prepared: PreparedDataset;

beforeAll(async () => {
  t = testApp({ env: { FINETUNE_BACKEND: 'cpu' } });
  const csv = agNewsSample(t.dataDir, 60);
  prepared = await prepareDataset(
    { file: csv, mapping: { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' } }, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } },
    t.dataDir,
  );
});
afterAll(() => t.cleanup());

function config(name: string): RunConfig {
  return {
    name,
    model: { source: 'bert fixture', path: fixtureDir('bert') },
    labels: prepared.labels,
    dataset: { fingerprint: prepared.id, name: prepared.name, trainCount: prepared.trainCount, evalCount: prepared.evalCount, path: preparedDatasetDir(t.dataDir, prepared.id) },
    options: { ...RECOMMENDED_OPTIONS, epochs: 3, batchSize: 8, learningRate: 1e-3, maxLength: 32, evalBatchSize: 32 },
  };
}

function losses(id: string): number[] {
  return t.app.runs.steps(id).map((s) => s.loss);
}

/**
 * The loss curve of an uninterrupted run, trained once per file by whichever test needs it first
 * (so each test also runs alone, e.g. with -t).
 */
let referenceRun: Promise<{ id: string; started: RunSummary; losses: number[] }> | null = null;
function uninterruptedRun(): Promise<{ id: string; started: RunSummary; losses: number[] }> {
  referenceRun ??= (async () => {
    const started = await t.app.training.start(config('reference'));
    await t.app.training.wait(started.id);
    return { id: started.id, started, losses: losses(started.id) };
  })();
  return referenceRun;
}

/** Whole training runs in a forked worker: room for a busy machine (the verdict never depends on speed). */
const HEAVY_TIMEOUT_MS = 180_000;

describe('training service (forked worker)', () => {
  it('records an uninterrupted run: steps, evaluations, best model, artifacts', async () => {
    const messages: { runId: string; message: string }[] = [];
    const offLog = t.app.events.on('run-log', (e) => messages.push(e));
    const { started: run } = await uninterruptedRun();
    expect(run.status).toBe('running');
    // While it trains, this process owns it (issue 12.1); the owner is cleared when it ends.
    expect(run).toMatchObject({ ownedHere: true, owner: { pid: process.pid, host: 'cli' } });
    const end = await t.app.training.wait(run.id);
    expect(end.status).toBe('completed');
    expect(end.owner).toBeNull();
    expect(end.backend).toBe('cpu');
    const detail = t.app.runs.get(run.id)!;
    expect(detail.steps.length).toBe(18);
    expect(detail.evals.length).toBe(3);
    expect(detail.bestAccuracy).not.toBeNull();
    expect(detail.artifacts.map((a) => a.kind).sort()).toEqual(['checkpoint', 'log', 'model', 'predictions']);
    const log = (await t.app.api.getRun(run.id)).log!;
    expect(log.some((l) => l.message.startsWith('backend: CPU (JavaScript)'))).toBe(true);
    expect(log.some((l) => /^eval at step 6: accuracy/.test(l.message))).toBe(true);
    expect(log.at(-1)!.message).toBe('completed');
    expect(log.every((l) => l.at > 0)).toBe(true);
    // The Messages log (run-log events) shows every evaluation and the end, in plain words.
    offLog();
    const shown = messages.filter((m) => m.runId === run.id).map((m) => m.message);
    // (This test is the file's first: the reference run is trained here, under the listener.)
    expect(shown.filter((m) => /^Evaluation at epoch \d+: accuracy [\d.]+ %, macro-F1 [\d.]+ %/.test(m)).length).toBe(3);
    expect(shown.at(-1)).toBe('Completed.');
  }, HEAVY_TIMEOUT_MS);

  it.each([
    ['in the middle of an epoch', 'step'],
    ['while a checkpoint is being written', 'checkpointing'],
  ] as const)('SIGKILL %s: the run fails, resumes from a complete checkpoint, and its loss curve equals the uninterrupted one', async (_label, when) => {
    const reference = (await uninterruptedRun()).losses;
    const run = await t.app.training.start(config(`killed-${when}`));
    const worker = t.workers.at(-1)!;
    const off = when === 'step'
      ? t.app.events.on('run-step', (e) => { if (e.runId === run.id && e.step === 9) worker.kill(); })
      : t.app.events.on('run-phase', (e) => { if (e.runId === run.id && e.phase === 'checkpointing' && e.message.includes('epoch 2')) worker.kill(); });
    const end = await t.app.training.wait(run.id);
    off();
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/killed \(SIGKILL\)/);
    const ckpt = latestCheckpoint(runDir(t.dataDir, run.id));
    // Mid-epoch the newest complete checkpoint is epoch 1's. The 'checkpointing' event reaches the
    // parent while the worker writes epoch 2's; on a busy machine the kill can land after that
    // write has finished, so epoch 2's checkpoint is then the newest (and complete) one. Either
    // way, what resume takes must be complete (below); bench:safety times kills inside writes.
    expect(ckpt).toMatch(when === 'step' ? /checkpoint-6$/ : /checkpoint-(6|12)$/);
    // Nothing half-written is taken for a checkpoint.
    for (const entry of fs.readdirSync(path.dirname(ckpt!))) {
      if (entry.startsWith('checkpoint-')) expect(fs.existsSync(path.join(path.dirname(ckpt!), entry, 'trainer_state.json'))).toBe(true);
    }
    const resumedLog: string[] = [];
    const offLog = t.app.events.on('run-log', (e) => { if (e.runId === run.id) resumedLog.push(e.message); });
    const resumed = await t.app.training.resume(run.id);
    expect(resumed.status).toBe('running');
    const final = await t.app.training.wait(run.id);
    offLog();
    // A resumed run takes its head from the checkpoint: no "head initialised" message.
    expect(resumedLog.filter((m) => /head (re-)?initialised/.test(m))).toEqual([]);
    expect(resumedLog).toContain('Completed.');
    expect(final.status).toBe('completed');
    const curve = losses(run.id);
    expect(curve.length).toBe(reference.length);
    curve.forEach((l, i) => expect(Math.abs(l - reference[i]!), `step ${i + 1}`).toBeLessThan(1e-6));
    expect(t.app.db.pragma('integrity_check', { simple: true })).toBe('ok');
  }, HEAVY_TIMEOUT_MS * 2); // the uninterrupted reference run too, when this test runs alone

  it('cancels a run within a step and marks it cancelled', async () => {
    const run = await t.app.training.start(config('cancelled'));
    const off = t.app.events.on('run-step', (e) => { if (e.runId === run.id && e.step === 2) t.app.training.cancel(run.id); });
    const end = await t.app.training.wait(run.id);
    off();
    expect(end.status).toBe('cancelled');
    expect(t.app.runs.steps(run.id).length).toBeLessThanOrEqual(3);
  });

  it('a failure inside the worker is recorded with its message', async () => {
    const bad = config('bad-model');
    bad.model.path = path.join(t.dataDir, 'no-such-model');
    const run = await t.app.training.start(bad);
    const end = await t.app.training.wait(run.id);
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/config\.json/);
  });

  it('deleting a run removes its row and folder; a running run cannot be deleted', async () => {
    const run = await t.app.training.start(config('to-delete'));
    await expect(t.app.api.deleteRun(run.id)).rejects.toThrow(/Cancel it first/);
    t.app.training.cancel(run.id);
    await t.app.training.wait(run.id);
    await t.app.api.deleteRun(run.id);
    expect(t.app.runs.summary(run.id)).toBeNull();
    expect(fs.existsSync(runDir(t.dataDir, run.id))).toBe(false);
  });
});
