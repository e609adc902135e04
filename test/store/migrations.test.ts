import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/main/store/database';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/main/store/migrations';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-mig-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
}

function schemaOf(db: Database.Database): string[] {
  return (
    db.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name").all() as { sql: string }[]
  ).map((r) => r.sql);
}

describe('migrations', () => {
  it('creates a fresh database at the current version with WAL, foreign keys and STRICT tables', () => {
    const db = openDatabase(path.join(dir, 'a.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(tables(db)).toEqual(expect.arrayContaining(['runs', 'step_metrics', 'epoch_metrics', 'artifacts']));
    for (const t of ['runs', 'step_metrics', 'epoch_metrics', 'artifacts']) {
      const strict = db.prepare('SELECT strict FROM pragma_table_list WHERE name = ?').get(t) as { strict: number };
      expect(strict.strict, t).toBe(1);
    }
    expect(() =>
      db.prepare("INSERT INTO runs (id, name, created_at, status, config) VALUES ('x', 'x', 'not a number', 'queued', '{}')").run(),
    ).toThrow();
    expect(() =>
      db.prepare("INSERT INTO runs (id, name, created_at, status, config) VALUES ('x', 'x', 1, 'bogus', '{}')").run(),
    ).toThrow(/CHECK/);
    db.close();
  });

  it('upgrades from every older version to the same schema as a fresh database', () => {
    const fresh = openDatabase(path.join(dir, 'fresh.db'));
    const expected = schemaOf(fresh);
    fresh.close();
    for (let from = 0; from < MIGRATIONS.length; from++) {
      const file = path.join(dir, `from-${from}.db`);
      const old = openDatabase(file, { migrations: MIGRATIONS.slice(0, from) });
      expect(old.pragma('user_version', { simple: true })).toBe(from);
      old.close();
      const db = openDatabase(file);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(schemaOf(db)).toEqual(expected);
      db.close();
    }
  });

  it('refuses a database written by a newer version and changes nothing', () => {
    const file = path.join(dir, 'newer.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE future (x INTEGER) STRICT');
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    const before = fs.readFileSync(file);
    expect(() => openDatabase(file)).toThrow(/newer version of Finetune Studio/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.existsSync(file + '-wal')).toBe(false);
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 5);
    expect(tables(check)).toEqual(['future']);
    check.close();
  });

  it('rolls back a failing migration and keeps the earlier version', () => {
    const file = path.join(dir, 'broken.db');
    const broken = [
      ...MIGRATIONS,
      (db: Database.Database) => {
        db.exec('CREATE TABLE half_done (x INTEGER) STRICT');
        throw new Error('boom');
      },
    ];
    expect(() => openDatabase(file, { migrations: broken })).toThrow('boom');
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(tables(db)).not.toContain('half_done');
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    db.close();
  });
});

describe('migration 2: run owners', () => {
  it('adds the owner columns to a version-1 database; its running runs have no owner (recovered at start as before)', () => {
    const file = path.join(dir, 'v1.db');
    const v1 = openDatabase(file, { migrations: MIGRATIONS.slice(0, 1) });
    v1.prepare("INSERT INTO runs (id, name, created_at, status, config) VALUES ('old', 'old', 1, 'running', '{}')").run();
    v1.close();
    const db = openDatabase(file, { migrations: MIGRATIONS.slice(0, 2) });
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').all('runs') as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['owner_pid', 'owner_process_start', 'owner_host', 'owner_instance', 'owner_since']));
    expect(db.prepare("SELECT owner_pid, owner_host FROM runs WHERE id = 'old'").get()).toEqual({ owner_pid: null, owner_host: null });
    expect(() => db.prepare("UPDATE runs SET owner_host = 'robot' WHERE id = 'old'").run()).toThrow(/CHECK/);
    db.close();
  });
});

describe('migration 3: the stage of each step', () => {
  it('keeps a version-2 database\'s steps as fine-tuning steps; an MLM step may share a step number', () => {
    const file = path.join(dir, 'v2.db');
    const v2 = openDatabase(file, { migrations: MIGRATIONS.slice(0, 2) });
    v2.prepare("INSERT INTO runs (id, name, created_at, status, config) VALUES ('old', 'old', 1, 'completed', '{}')").run();
    v2.prepare("INSERT INTO step_metrics (run_id, step, epoch, loss, learning_rate, samples_per_second) VALUES ('old', 1, 0.5, 1.25, 0.001, 10)").run();
    v2.close();
    const db = openDatabase(file, { migrations: MIGRATIONS.slice(0, 3) });
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    expect(db.prepare('SELECT run_id, stage, step, loss FROM step_metrics').all()).toEqual([{ run_id: 'old', stage: 'finetune', step: 1, loss: 1.25 }]);
    db.prepare("INSERT INTO step_metrics (run_id, stage, step, epoch, loss, learning_rate) VALUES ('old', 'mlm', 1, 0.1, 7.5, 0.0005)").run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM step_metrics').get()).toEqual({ n: 2 });
    expect(() => db.prepare("INSERT INTO step_metrics (run_id, stage, step, epoch, loss, learning_rate) VALUES ('old', 'other', 2, 0.1, 1, 1)").run()).toThrow(/CHECK/);
    db.prepare("DELETE FROM runs WHERE id = 'old'").run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM step_metrics').get()).toEqual({ n: 0 });
    db.close();
  });
});
