/**
 * Temp files and the model swap (issue 12.6): a killed trainer's temp folders are removed on
 * start and resume (only when their writer's pid is dead); the best model is at model/ or
 * recoverable at every instant of its replacement; old uploads are deleted.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/main/app';
import { replaceFolder, settleModelSwap, type SwapStep } from '../../src/main/engine/save';
import { removeUpload, sweepRunFolder, sweepUploads, tempOwnerPid, uploadsDir } from '../../src/main/training/housekeeping';
import { runDir } from '../../src/main/paths';
import { fakeLauncher } from '../helpers/fake-worker';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-house-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function modelFolder(dir: string, version: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version }));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), version.repeat(100));
}

const versionAt = (dir: string): string => (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { version: string }).version;

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

class Killed extends Error {}

describe('the model swap', () => {
  it.each(['pending', 'moved-aside', 'replaced'] as SwapStep[])('a kill after step %s leaves a complete model that settleModelSwap puts at model/', (step) => {
    const run = tempDir();
    const model = path.join(run, 'model');
    modelFolder(model, 'old');
    const tmp = path.join(run, '.model.tmp-1-2');
    modelFolder(tmp, 'new');
    expect(() =>
      replaceFolder(tmp, model, (s) => {
        if (s === step) throw new Killed();
      }),
    ).toThrow(Killed);
    // The moment of the kill: some complete model exists under a known name.
    const complete = ['model', '.model.new', '.model.old'].filter((n) => fs.existsSync(path.join(run, n, 'config.json')));
    expect(complete.length).toBeGreaterThan(0);
    settleModelSwap(model);
    // The newest complete folder wins; nothing else is left.
    expect(versionAt(model)).toBe('new');
    expect(fs.readdirSync(run).sort()).toEqual(['model']);
  });

  it('restores .model.old when a kill left no model/ and no .model.new', () => {
    const run = tempDir();
    modelFolder(path.join(run, '.model.old'), 'old');
    expect(settleModelSwap(path.join(run, 'model'))).toBe('restored-old');
    expect(versionAt(path.join(run, 'model'))).toBe('old');
  });

  it('a swap without a previous model, and an untouched folder, are left as they are', () => {
    const run = tempDir();
    expect(settleModelSwap(path.join(run, 'model'))).toBe('none');
    const tmp = path.join(run, '.model.tmp-1-2');
    modelFolder(tmp, 'first');
    replaceFolder(tmp, path.join(run, 'model'));
    expect(versionAt(path.join(run, 'model'))).toBe('first');
    expect(settleModelSwap(path.join(run, 'model'))).toBe('none');
    expect(fs.readdirSync(run)).toEqual(['model']);
  });
});

describe('stale temp files', () => {
  it('knows the temp names the app writes and their pid', () => {
    expect(tempOwnerPid('.model.tmp-1234-1700000000000')).toBe(1234);
    expect(tempOwnerPid('.model.old-99-1700000000000')).toBe(99);
    expect(tempOwnerPid('.tmp-checkpoint-6-4321-1700000000000')).toBe(4321);
    expect(tempOwnerPid('.config.json.555.1700000000000.tmp')).toBe(555);
    for (const name of ['model', 'checkpoint-6', 'train.log', 'config.json', 'eval_predictions.jsonl']) expect(tempOwnerPid(name), name).toBeNull();
  });

  it("removes only a dead writer's temp folders (a killed save's half-written model), keeps a live writer's and every real file", async () => {
    const run = tempDir();
    const dead = await deadPid();
    modelFolder(path.join(run, 'model'), 'best');
    modelFolder(path.join(run, `.model.tmp-${dead}-1700000000000`), 'half');
    modelFolder(path.join(run, 'checkpoints', 'checkpoint-6'), 'ckpt');
    fs.mkdirSync(path.join(run, 'checkpoints', `.tmp-checkpoint-9-${dead}-1700000000000`));
    fs.writeFileSync(path.join(run, `.config.json.${dead}.1700000000000.tmp`), '{');
    const live = path.join(run, `.model.tmp-${process.ppid}-1700000000000`);
    modelFolder(live, 'being written');
    const r = sweepRunFolder(run);
    expect(r.removed.map((p) => path.basename(p)).sort()).toEqual([`.config.json.${dead}.1700000000000.tmp`, `.model.tmp-${dead}-1700000000000`, `.tmp-checkpoint-9-${dead}-1700000000000`].sort());
    expect(r.bytes).toBeGreaterThan(0);
    expect(fs.existsSync(live)).toBe(true);
    expect(versionAt(path.join(run, 'model'))).toBe('best');
    expect(fs.existsSync(path.join(run, 'checkpoints', 'checkpoint-6', 'config.json'))).toBe(true);
  });

  it('createApp sweeps run folders at start and restores a model left between two renames, and says so', async () => {
    const dataDir = tempDir();
    const dead = await deadPid();
    const run = runDir(dataDir, '20260101-000000-abcdef');
    fs.mkdirSync(run, { recursive: true });
    modelFolder(path.join(run, `.model.tmp-${dead}-1700000000000`), 'half');
    modelFolder(path.join(run, '.model.old'), 'best'); // killed between model -> .model.old and .model.new -> model
    const app = createApp({ dataDir, host: 'cli', launcher: fakeLauncher().launcher, workerEntry: 'unused.js' });
    try {
      expect(fs.readdirSync(run).sort()).toEqual(['model']);
      expect(versionAt(path.join(run, 'model'))).toBe('best');
      const kinds = (await app.api.systemInfo()).startupNotices.map((n) => n.kind);
      expect(kinds).toEqual(expect.arrayContaining(['temp-files-removed', 'model-restored']));
    } finally {
      app.close();
    }
  });
});

describe('the previous swap scheme', () => {
  it('a kill between its renames left only .model.old-<pid>-<ts>: it is put back at model/, not swept', async () => {
    const run = tempDir();
    const dead = await deadPid();
    modelFolder(path.join(run, `.model.old-${dead}-1700000000000`), 'best');
    const r = sweepRunFolder(run);
    expect(r.model).toBe('restored-old');
    expect(versionAt(path.join(run, 'model'))).toBe('best');
    expect(fs.readdirSync(run)).toEqual(['model']);
  });
});

describe('uploads', () => {
  it('sweepUploads deletes uploads and unfinished parts older than the age given; removeUpload deletes one prepared upload', () => {
    const dataDir = tempDir();
    const dir = uploadsDir(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const old = path.join(dir, '1700000000000-abc123-big.csv');
    const oldPart = path.join(dir, '1700000000001-abc124-cut.csv.part');
    const fresh = path.join(dir, `${now}-abc125-new.csv`);
    for (const f of [old, oldPart, fresh]) fs.writeFileSync(f, 'x'.repeat(10));
    const hourAgo = new Date(now - 2 * 3600_000);
    fs.utimesSync(old, hourAgo, hourAgo);
    fs.utimesSync(oldPart, hourAgo, hourAgo);
    const r = sweepUploads(dataDir, 3600_000, now);
    expect(r.removed.sort()).toEqual([old, oldPart].sort());
    expect(r.bytes).toBe(20);
    expect(fs.existsSync(fresh)).toBe(true);
    expect(removeUpload(dataDir, path.join(dataDir, 'elsewhere.csv'))).toBe(false);
    expect(removeUpload(dataDir, fresh)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(sweepUploads(path.join(dataDir, 'none'), 0).removed).toEqual([]);
  });
});
