/**
 * Resource errors are the user's to fix, not bugs (issue 12.7): a full disk, a permission
 * problem, a read-only disk, a folder for a file and a missing path each get their own code and
 * the next step, at the one place errors become AppErrors (dispatch), in a failed run, and in a
 * worker job; a SIGKILL is worded as "stopped by the system or a person".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import { dispatch, toErrorData } from '../../src/main/dispatch';
import { runWorkerJob } from '../../src/main/training/jobs';
import { RECOMMENDED_OPTIONS, type RunConfig } from '../../src/shared/run-config';
import type { PreparedDataset } from '../../src/shared/dataset';
import { preparedDatasetDir } from '../../src/main/data';
import { fixtureDir } from '../helpers/reference';
import { fakeLauncher, type FakeWorker } from '../helpers/fake-worker';
import { fakeRun, prepareAgNews } from '../export/helpers';

let dataDir: string;
let app: App;
let workers: FakeWorker[];
let prepared: PreparedDataset;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-errors-'));
  const fake = fakeLauncher();
  workers = fake.workers;
  app = createApp({ dataDir, host: 'cli', launcher: fake.launcher, workerEntry: 'unused.js' });
  prepared = await prepareAgNews(dataDir, 40);
});
afterAll(() => {
  app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function config(name: string): RunConfig {
  return {
    name,
    model: { source: 'bert fixture', path: fixtureDir('bert') },
    labels: prepared.labels,
    dataset: { fingerprint: prepared.id, name: prepared.name, trainCount: prepared.trainCount, evalCount: prepared.evalCount, path: preparedDatasetDir(dataDir, prepared.id) },
    options: { ...RECOMMENDED_OPTIONS, epochs: 1, batchSize: 8, maxLength: 32 },
  };
}

const sysError = (code: string, p: string) => Object.assign(new Error(`${code}: something, write '${p}'`), { code, path: p, syscall: 'write' });

describe('resource errors', () => {
  it.each([
    ['ENOSPC', 'disk_full', /disk is full.*Free some space/],
    ['EDQUOT', 'disk_full', /disk is full/],
    ['EACCES', 'permission_denied', /permission denied.*permissions/],
    ['EPERM', 'permission_denied', /permission denied/],
    ['EROFS', 'read_only', /read-only.*writable disk/],
    ['EISDIR', 'is_directory', /is a folder, not a file/],
    ['ENOENT', 'not_found', /does not exist/],
  ])('%s from any call becomes %s with the next step, not "internal"', (errno, code, message) => {
    const e = toErrorData(sysError(errno, '/data/runs/x/file'), 'renameRun');
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.message).toContain('/data/runs/x/file');
    expect(e.message).not.toMatch(/bug/);
  });

  it('SQLite on a full disk (SQLITE_FULL) and a wrapped cause are mapped too; a real bug stays internal', () => {
    expect(toErrorData(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), 'renameRun').code).toBe('disk_full');
    expect(toErrorData(new Error('export failed', { cause: sysError('ENOSPC', '/x') }), 'exportRun').code).toBe('disk_full');
    expect(toErrorData(new TypeError('x is undefined'), 'listRuns').code).toBe('internal');
  });

  it('a real EISDIR and ENOENT from fs are mapped', () => {
    let err: unknown;
    try {
      fs.readFileSync(dataDir);
    } catch (e) {
      err = e;
    }
    expect(toErrorData(err, 'x').code).toBe('is_directory');
    try {
      fs.readFileSync(path.join(dataDir, 'missing.csv'));
    } catch (e) {
      err = e;
    }
    expect(toErrorData(err, 'x').code).toBe('not_found');
  });

  it('predictFile on a folder answers is_directory, on a missing file not_found (not internal)', async () => {
    const id = await fakeRun(dataDir, app.runs, config('predict target'));
    const folder = await dispatch(app.api, 'predictFile', [id, dataDir]);
    expect(folder.ok).toBe(false);
    if (!folder.ok) expect(folder.error).toMatchObject({ code: 'is_directory', message: expect.stringContaining('is a folder') });
    const missing = await dispatch(app.api, 'predictFile', [id, path.join(dataDir, 'nope.csv')]);
    if (!missing.ok) expect(missing.error.code).toBe('not_found');
    expect(missing.ok).toBe(false);
  });

  it('a run that failed on a full disk says: free some space, then Resume', async () => {
    const run = await app.training.start(config('full disk'));
    workers.at(-1)!.emit({ type: 'failed', error: "ENOSPC: no space left on device, write", errno: 'ENOSPC' });
    const end = await app.training.wait(run.id);
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/ENOSPC.*free some space, then Resume the run/);
  });

  it('a SIGKILL is worded as stopped by the system or a person, out of memory being a common cause', async () => {
    const run = await app.training.start(config('killed'));
    workers.at(-1)!.exit(null, 'SIGKILL');
    const end = await app.training.wait(run.id);
    expect(end.error).toMatch(/killed \(SIGKILL\)/);
    expect(end.error).toMatch(/stopped by the system or a person \(running out of memory is a common cause/);
  });

  it("a worker job's typed failure keeps its code; a resource failure gets its code; anything else is internal", async () => {
    const fake = fakeLauncher();
    const ctx = { launcher: fake.launcher, workerEntry: 'unused.js' };
    const job = { kind: 'predict-file', dataDir, runId: 'r', input: 'in.csv', out: 'out.csv' } as const;
    const cases = [
      [{ type: 'failed', error: 'in.csv: no such file', code: 'not_found' }, 'not_found'],
      [{ type: 'failed', error: 'ENOSPC: no space left on device', errno: 'ENOSPC' }, 'disk_full'],
      [{ type: 'failed', error: 'boom' }, 'internal'],
    ] as const;
    for (const [message, code] of cases) {
      const p = runWorkerJob(ctx, job, () => undefined, { what: 'Batch prediction' });
      fake.workers.at(-1)!.emit(message);
      await expect(p).rejects.toMatchObject({ code });
    }
  });
});
