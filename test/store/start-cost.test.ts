/**
 * What a process reads from the run database when it starts: only the runs some process owns
 * and the runs left running or queued, through indexes that hold just those rows, not a summary
 * of every run in the history (slow with many runs: each summary also looks up its dataset's
 * keyword baseline on disk). Counted in rows and summaries, never in time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/main/app';
import { databasePath, openDatabase } from '../../src/main/store/database';
import { OWNED_RUNS_SQL, RunRepository, UNFINISHED_RUNS_SQL } from '../../src/main/store/runs';

const HISTORY = 3000;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-start-cost-'));
  const db = openDatabase(databasePath(dir));
  const insert = db.prepare(
    `INSERT INTO runs (id, name, created_at, status, config, dataset_fingerprint, owner_pid, owner_instance, owner_host, owner_since)
     VALUES (?, ?, ?, ?, '{}', 'ds', ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < HISTORY; i++) insert.run(`old-${i}`, `old ${i}`, i, 'completed', null, null, null, null);
    // Two left running by processes that are gone (no such pid), one trained by a live process (pid 1).
    insert.run('orphan-a', 'a', HISTORY, 'running', 2 ** 22 + 17, 'gone', 'cli', 1);
    insert.run('orphan-b', 'b', HISTORY + 1, 'queued', 2 ** 22 + 18, 'gone', 'web', 1);
    insert.run('live', 'live', HISTORY + 2, 'running', 1, 'other', 'electron', 1);
  })();
  db.close();
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The query plan's lines (EXPLAIN QUERY PLAN) for a statement. */
function plan(sql: string): string[] {
  const db = openDatabase(databasePath(dir), { readonly: true });
  try {
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail);
  } finally {
    db.close();
  }
}

describe('start cost', () => {
  it(`createApp with ${HISTORY} finished runs summarises none of them; it recovers the orphans and leaves the live run`, () => {
    const list = vi.spyOn(RunRepository.prototype, 'list');
    const summary = vi.spyOn(RunRepository.prototype, 'summary');
    const app = createApp({ dataDir: dir, host: 'cli' });
    try {
      expect(list).not.toHaveBeenCalled();
      expect(summary.mock.calls.length).toBeLessThanOrEqual(3);
      expect(app.recoveredRuns).toBe(2);
      expect(app.runs.summary('orphan-a')!.status).toBe('interrupted');
      expect(app.runs.summary('live')).toMatchObject({ status: 'running', owner: { pid: 1 } });
      expect(app.runs.ownedRunIds()).toEqual(['live']);
      expect(app.runs.unfinished().map((r) => r.id)).toEqual(['live']);
    } finally {
      app.close();
    }
  });

  it('the start queries read an index holding only owned or unfinished runs (no scan of the runs table)', () => {
    for (const sql of [OWNED_RUNS_SQL, UNFINISHED_RUNS_SQL]) {
      const lines = plan(sql);
      expect(lines.join(' | '), sql).toMatch(/USING (COVERING )?INDEX runs_(owned|unfinished)/);
      expect(lines.some((l) => /^SCAN runs$/.test(l)), `${sql}: ${lines.join(' | ')}`).toBe(false);
    }
  });

  it('the indexes hold only the rows they are for', () => {
    const db = openDatabase(databasePath(dir), { readonly: true });
    try {
      // A count through each index reads exactly its rows.
      expect(db.prepare('SELECT COUNT(*) AS n FROM runs INDEXED BY runs_owned WHERE owner_pid IS NOT NULL').get()).toEqual({ n: 3 });
      expect(db.prepare("SELECT COUNT(*) AS n FROM runs INDEXED BY runs_unfinished WHERE status IN ('running', 'queued')").get()).toEqual({ n: 3 });
    } finally {
      db.close();
    }
  });
});
