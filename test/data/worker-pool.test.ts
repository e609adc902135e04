/**
 * The data worker pool (src/main/data/worker-pool.ts) with the built thread entry
 * (out/main/data-worker.js): real jobs in real worker threads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DataProgress, DatasetInspection, DoctorReport, PreparedDataset } from '../../src/shared/dataset';
import { datasetsDir } from '../../src/main/data';
import { prepareTempDir } from '../../src/main/data/prepare';
import { DataWorkerPool, errorFromWorker } from '../../src/main/data/worker-pool';
import { agNewsSample, DATA_WORKER_ENTRY, requireBuild } from '../helpers/app';

const MAPPING = { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' } };
const TIMEOUT = 120_000;

let dir: string;
let small: string;
let big: string;
const pools: DataWorkerPool[] = [];

function pool(options: Partial<ConstructorParameters<typeof DataWorkerPool>[0]> = {}): DataWorkerPool {
  const p = new DataWorkerPool({ entry: DATA_WORKER_ENTRY, size: 2, ...options });
  pools.push(p);
  return p;
}

function tempLeftovers(dataDir: string): string[] {
  const root = datasetsDir(dataDir);
  return fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith('.tmp-')) : [];
}

beforeAll(() => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-pool-'));
  small = agNewsSample(dir, 300);
  // About 25 MB (the AG News rows, repeated and numbered): long enough to cancel mid-way.
  const lines = fs.readFileSync(small, 'utf8').trim().split('\n');
  const out: string[] = [];
  for (let i = 0; out.length < 100_000; i++) out.push(lines[i % lines.length]!.replace(/"$/, ` (#${i})"`));
  big = path.join(dir, 'big.csv');
  fs.writeFileSync(big, out.join('\n') + '\n');
});
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('data worker pool', () => {
  it('inspects a file in a worker thread and streams its progress', { timeout: TIMEOUT }, async () => {
    const progress: DataProgress[] = [];
    const r = await pool().run<DatasetInspection>({ kind: 'inspect', file: small }, { what: 'Inspecting', onProgress: (p) => progress.push(p) });
    expect(r.rowCount).toBe(300);
    expect(r.suggestedMapping?.labelColumn).toBe(0);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.done).toBeGreaterThan(0);
  });

  it('prepares a dataset and runs the doctor (asking the app for token counts)', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(dir, 'prepare-ok');
    const p = pool();
    const prepared = await p.run<PreparedDataset>(
      { kind: 'prepare', request: { file: small, mapping: MAPPING, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } }, dataDir, tempDir: prepareTempDir(dataDir) },
      { what: 'Preparing' },
    );
    expect(prepared.trainCount + prepared.evalCount).toBe(300);
    expect(fs.existsSync(path.join(datasetsDir(dataDir), prepared.id, 'train.jsonl'))).toBe(true);
    expect(tempLeftovers(dataDir)).toEqual([]);

    const asked: number[] = [];
    const report = await p.run<DoctorReport>(
      { kind: 'doctor', source: { kind: 'prepared', id: prepared.id }, dataDir, countTokens: true },
      { what: 'The data doctor', countTokens: async (texts) => (asked.push(texts.length), texts.map((t) => t.split(' ').length)) },
    );
    expect(asked.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(report.tokenLengths).not.toBeNull();
  });

  it('cancel stops a prepare and leaves no temp folder', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(dir, 'prepare-cancel');
    const controller = new AbortController();
    const started = pool().run(
      { kind: 'prepare', request: { file: big, mapping: MAPPING, split: { kind: 'ratio', evalRatio: 0.1, seed: 1 } }, dataDir, tempDir: prepareTempDir(dataDir) },
      { what: 'Preparing big.csv', signal: controller.signal, onProgress: (p) => p.done > 0 && controller.abort() },
    );
    await expect(started).rejects.toMatchObject({ code: 'cancelled' });
    expect(tempLeftovers(dataDir)).toEqual([]);
    expect(fs.readdirSync(datasetsDir(dataDir))).toEqual([]);
  });

  it('a thread that does not stop in time is terminated and its temp folder removed', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(dir, 'prepare-terminate');
    const tempDir = prepareTempDir(dataDir);
    const controller = new AbortController();
    const p = pool({ stopGraceMs: 0 });
    let sawTemp = false;
    const started = p.run(
      { kind: 'prepare', request: { file: big, mapping: MAPPING, split: { kind: 'ratio', evalRatio: 0.1, seed: 1 } }, dataDir, tempDir },
      {
        what: 'Preparing big.csv',
        signal: controller.signal,
        onProgress: (pr) => {
          if (pr.done > 0 && !controller.signal.aborted) {
            sawTemp = fs.existsSync(tempDir);
            controller.abort();
          }
        },
      },
    );
    await expect(started).rejects.toMatchObject({ code: 'cancelled' });
    expect(sawTemp).toBe(true);
    // Removed once the thread has ended.
    for (let i = 0; i < 100 && fs.existsSync(tempDir); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(tempDir)).toBe(false);
    // The pool still works: a new thread takes the next job.
    const r = await p.run<DatasetInspection>({ kind: 'inspect', file: small }, { what: 'Inspecting' });
    expect(r.rowCount).toBe(300);
  });

  it('an error in the worker comes back with its code', { timeout: TIMEOUT }, async () => {
    const p = pool();
    // An AppError thrown in the thread: its code and field.
    const dataDir = path.join(dir, 'prepare-bad');
    await expect(
      p.run({ kind: 'prepare', request: { file: small, mapping: { ...MAPPING, labelColumn: 9 }, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } }, dataDir, tempDir: prepareTempDir(dataDir) }, { what: 'Preparing' }),
    ).rejects.toMatchObject({ name: 'AppError', code: 'invalid_input' });
    expect(tempLeftovers(dataDir)).toEqual([]);
    const err = await p.run({ kind: 'inspect', file: path.join(dir, 'missing.csv') }, { what: 'Inspecting' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AppError', code: 'not_found' });
    expect((err as Error).message).toContain('missing.csv');
  });

  it('a Node system error from the thread becomes the resource error with its path', () => {
    // What the thread sends for an fs error it did not wrap (serializeError in worker-entry.ts).
    expect(errorFromWorker({ message: "EACCES: permission denied, open '/x/data.csv'", errno: 'EACCES', path: '/x/data.csv' })).toMatchObject({ code: 'permission_denied' });
    expect(errorFromWorker({ message: 'no space', errno: 'ENOSPC', path: '/x' })).toMatchObject({ code: 'disk_full' });
    expect(errorFromWorker({ message: 'bad', code: 'invalid_input', field: 'mapping' })).toMatchObject({ name: 'AppError', code: 'invalid_input', field: 'mapping' });
    const odd = errorFromWorker({ message: 'weird', errno: 'EWEIRD' });
    expect(odd).toMatchObject({ code: 'EWEIRD', message: 'weird' });
  });

  it('a job over the heap limit fails with a clear error, and the pool goes on', { timeout: TIMEOUT }, async () => {
    // The doctor of a prepared dataset holds its rows (100k rows of AG News: well over 16 MB).
    const dataDir = path.join(dir, 'heap');
    const prepared = await pool().run<PreparedDataset>(
      { kind: 'prepare', request: { file: big, mapping: MAPPING, split: { kind: 'ratio', evalRatio: 0.1, seed: 1 } }, dataDir, tempDir: prepareTempDir(dataDir) },
      { what: 'Preparing' },
    );
    const p = pool({ heapMb: 16 });
    const err = await p.run({ kind: 'doctor', source: { kind: 'prepared', id: prepared.id }, dataDir, countTokens: false }, { what: 'The data doctor' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unsupported' });
    expect((err as Error).message).toMatch(/The data doctor needed more memory than the 16 MB/);
    const r = await p.run<DatasetInspection>({ kind: 'inspect', file: small }, { what: 'Inspecting' });
    expect(r.rowCount).toBe(300);
  });
});
