/**
 * Run ownership across processes (issue 12.1): a run a live process trains is neither recovered
 * as interrupted nor resumed, cancelled or deleted by another process; a run whose owner is gone
 * is recovered. Two createApp() instances on one data folder, and real child processes as owners.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import { dispatch } from '../../src/main/dispatch';
import { prepareDataset, preparedDatasetDir } from '../../src/main/data';
import { currentOwner, processStartTime, unregisterInstance, type OwnerRecord } from '../../src/main/store/ownership';
import { RECOMMENDED_OPTIONS, type RunConfig } from '../../src/shared/run-config';
import type { PreparedDataset } from '../../src/shared/dataset';
import { runDir } from '../../src/main/paths';
import { fixtureDir } from '../helpers/reference';
import { agNewsSample } from '../helpers/app';
import { fakeLauncher } from '../helpers/fake-worker';

let dataDir: string;
let prepared: PreparedDataset;
const opened: App[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-owner-'));
  const csv = agNewsSample(dataDir, 40);
  prepared = await prepareDataset(
    { file: csv, mapping: { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' } }, split: { kind: 'ratio', evalRatio: 0.25, seed: 1 } },
    dataDir,
  );
  return () => fs.rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  for (const a of opened.splice(0)) a.close();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function open(host: 'cli' | 'web' | 'electron' = 'cli'): { app: App; workers: ReturnType<typeof fakeLauncher>['workers'] } {
  const { launcher, workers } = fakeLauncher();
  const app = createApp({ dataDir, host, launcher, workerEntry: 'unused.js' });
  opened.push(app);
  return { app, workers };
}

function config(name: string): RunConfig {
  return {
    name,
    model: { source: 'bert fixture', path: fixtureDir('bert') },
    labels: prepared.labels,
    dataset: { fingerprint: prepared.id, name: prepared.name, trainCount: prepared.trainCount, evalCount: prepared.evalCount, path: preparedDatasetDir(dataDir, prepared.id) },
    options: { ...RECOMMENDED_OPTIONS, epochs: 1, batchSize: 8, maxLength: 32 },
  };
}

async function errorOf(app: App, method: string, args: unknown[]): Promise<{ code: string; message: string }> {
  const r = await dispatch(app.api, method, args);
  if (r.ok) throw new Error(`${method} succeeded`);
  return r.error;
}

/** A real process that stays alive until killed. */
function liveChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); process.stdout.write("up")'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  return new Promise((resolve) => child.stdout!.once('data', () => resolve(child)));
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** A run row marked running and owned by `owner` (as another process would leave it). */
function runOwnedBy(app: App, id: string, owner: OwnerRecord): void {
  app.runs.create({ id, name: id, config: config(id) as never });
  app.runs.claim(id, owner);
  app.runs.setStatus(id, 'running');
  fs.mkdirSync(runDir(dataDir, id), { recursive: true });
}

describe('run ownership across processes', () => {
  it('a second app instance on the same data folder leaves the first one\'s run running and refuses resume, cancel and delete by name', async () => {
    const a = open('cli');
    const run = await a.app.training.start(config('owned by a'));
    expect(run.status).toBe('running');
    expect(run.owner).toMatchObject({ pid: process.pid, host: 'cli' });
    expect(run.ownedHere).toBe(true);

    const b = open('web');
    expect(b.app.recoveredRuns).toBe(0);
    const seen = (await b.app.api.listRuns()).find((r) => r.id === run.id)!;
    expect(seen.status).toBe('running');
    expect(seen.ownedHere).toBe(false);
    expect(seen.owner).toEqual({ pid: process.pid, host: 'cli', startedAt: run.owner!.startedAt });

    for (const method of ['resumeRun', 'cancelRun', 'deleteRun']) {
      const e = await errorOf(b.app, method, [run.id]);
      expect(e.code, method).toBe('owned_elsewhere');
      expect(e.message).toMatch(new RegExp(`run ${run.id} .*is being trained by finetune train \\(pid ${process.pid}\\) since \\d\\d:\\d\\d`, 'i'));
    }
    // Nothing was changed by the refusals.
    expect(a.app.runs.summary(run.id)!.status).toBe('running');
    expect(fs.existsSync(runDir(dataDir, run.id))).toBe(true);
    expect((await b.app.api.systemInfo()).activeRunIds).toContain(run.id);
    expect((await b.app.api.systemInfo()).runConcurrency.mode).toBe('parallel');

    // The owner itself can cancel it.
    a.app.training.cancel(run.id);
    a.workers.at(-1)!.emit({ type: 'cancelled', result: null });
    const end = await a.app.training.wait(run.id);
    expect(end).toMatchObject({ status: 'cancelled', owner: null, ownedHere: false });
  });

  it('when the owning instance is gone without closing, the other instance recovers its run as interrupted and can resume it', async () => {
    const a = open('electron');
    const run = await a.app.training.start(config('crashed owner'));
    const b = open('cli');
    expect((await b.app.api.listRuns()).find((r) => r.id === run.id)!.status).toBe('running');
    unregisterInstance(a.app.runs.instance); // as if that app's process had died
    const after = (await b.app.api.listRuns()).find((r) => r.id === run.id)!;
    expect(after).toMatchObject({ status: 'interrupted', owner: null });
    const resumed = await b.app.api.resumeRun(run.id);
    expect(resumed).toMatchObject({ status: 'running', ownedHere: true, owner: { host: 'cli', pid: process.pid } });
  });

  it('a run owned by a live child process survives another app\'s start; once the child is killed it is recovered', async () => {
    const child = await liveChild();
    const setup = open();
    const owner: OwnerRecord = { pid: child.pid!, processStart: processStartTime(child.pid!), host: 'cli', instance: 'child', startedAt: Date.UTC(2026, 0, 1, 14, 2) };
    runOwnedBy(setup.app, 'child-run', owner);
    setup.app.close();
    opened.pop();

    const b = open('electron');
    expect(b.app.recoveredRuns).toBe(0);
    expect(b.app.runs.summary('child-run')).toMatchObject({ status: 'running', ownedHere: false, owner: { pid: child.pid, host: 'cli' } });
    const e = await errorOf(b.app, 'resumeRun', ['child-run']);
    expect(e.code).toBe('owned_elsewhere');
    expect(e.message).toContain(`finetune train (pid ${child.pid})`);
    expect((await errorOf(b.app, 'deleteRun', ['child-run'])).code).toBe('owned_elsewhere');

    child.kill('SIGKILL');
    await exited(child);
    const after = (await b.app.api.listRuns()).find((r) => r.id === 'child-run')!;
    expect(after).toMatchObject({ status: 'interrupted', owner: null });
    await b.app.api.deleteRun('child-run');
    expect(b.app.runs.summary('child-run')).toBeNull();
  });

  it('at start, only runs whose owner is gone (dead pid, or a pid reused by another process) become interrupted', async () => {
    const live = await liveChild();
    const dead = spawn(process.execPath, ['-e', '0']);
    await exited(dead);
    const setup = open();
    runOwnedBy(setup.app, 'live', { pid: live.pid!, processStart: processStartTime(live.pid!), host: 'web', instance: 'x', startedAt: 1 });
    runOwnedBy(setup.app, 'dead', { pid: dead.pid!, processStart: '1', host: 'web', instance: 'x', startedAt: 1 });
    if (process.platform === 'linux') {
      // The same pid as the live child, started at another time: a reused pid, not the owner.
      runOwnedBy(setup.app, 'reused', { pid: live.pid!, processStart: '1', host: 'web', instance: 'x', startedAt: 1 });
    }
    // A run recorded by an older version (no owner) is recovered as before.
    setup.app.runs.create({ id: 'legacy', name: 'legacy', config: {} });
    setup.app.runs.setStatus('legacy', 'running');
    setup.app.close();
    opened.pop();

    const b = open();
    const status = (id: string) => b.app.runs.summary(id)!.status;
    expect(status('live')).toBe('running');
    expect(status('dead')).toBe('interrupted');
    expect(status('legacy')).toBe('interrupted');
    if (process.platform === 'linux') expect(status('reused')).toBe('interrupted');
    expect(b.app.recoveredRuns).toBe(process.platform === 'linux' ? 3 : 2);
    expect((await b.app.api.systemInfo()).startupNotices.map((n) => n.kind)).toContain('runs-recovered');
  });

  it('two processes cannot both claim one run: the claim is one statement', () => {
    const a = open();
    a.app.runs.create({ id: 'contested', name: 'contested', config: {} });
    a.app.runs.setStatus('contested', 'interrupted');
    expect(a.app.runs.tryClaim('contested', currentOwner('cli', a.app.runs.instance))).toBe(true);
    expect(a.app.runs.tryClaim('contested', { ...currentOwner('web', 'other'), pid: process.pid + 1 })).toBe(false);
    expect(a.app.runs.owner('contested')).toMatchObject({ host: 'cli', instance: a.app.runs.instance });
  });
});
