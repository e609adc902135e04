/**
 * Numbered schema migrations. Migration N upgrades a database at user_version N-1 to N; each
 * runs in its own transaction that also sets user_version, so a crash leaves the database at
 * a whole version. Append new migrations; never edit a released one.
 */
import type Database from 'better-sqlite3';

export type Migration = (db: Database.Database) => void;

export const MIGRATIONS: readonly Migration[] = [
  // 1: runs, step metrics, evaluation metrics, artifacts.
  (db) => {
    db.exec(`
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','cancelled','interrupted')),
        config TEXT NOT NULL CHECK (json_valid(config)),
        model_id TEXT,
        dataset_fingerprint TEXT,
        dataset_name TEXT,
        backend TEXT,
        best_metric REAL,
        best_metric_name TEXT,
        best_accuracy REAL,
        error TEXT
      ) STRICT;
      CREATE INDEX runs_created ON runs (created_at DESC);

      CREATE TABLE step_metrics (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        epoch REAL NOT NULL,
        loss REAL NOT NULL,
        learning_rate REAL NOT NULL,
        samples_per_second REAL,
        PRIMARY KEY (run_id, step)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE epoch_metrics (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        epoch REAL NOT NULL,
        eval_loss REAL NOT NULL,
        accuracy REAL NOT NULL,
        macro_f1 REAL NOT NULL,
        per_class TEXT NOT NULL CHECK (json_valid(per_class)),
        confusion TEXT NOT NULL CHECK (json_valid(confusion)),
        PRIMARY KEY (run_id, step)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE artifacts (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('checkpoint','model','predictions','export','dataset','log')),
        path TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (run_id, kind, path)
      ) STRICT;
      CREATE INDEX artifacts_run ON artifacts (run_id);
    `);
  },
  // 2: who trains a running run (see store/ownership.ts): the owning process's pid, its start
  // time (Linux clock ticks; NULL elsewhere), its host kind, its app instance and since when.
  (db) => {
    db.exec(`
      ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
      ALTER TABLE runs ADD COLUMN owner_process_start TEXT;
      ALTER TABLE runs ADD COLUMN owner_host TEXT CHECK (owner_host IN ('cli','web','electron'));
      ALTER TABLE runs ADD COLUMN owner_instance TEXT;
      ALTER TABLE runs ADD COLUMN owner_since INTEGER;
    `);
  },
  // 3: the stage of each step ('mlm': masked-LM adaptation before fine-tuning), part of the key
  // (both stages count their steps from 1). Earlier rows are fine-tuning steps.
  (db) => {
    db.exec(`
      CREATE TABLE step_metrics_v3 (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        stage TEXT NOT NULL DEFAULT 'finetune' CHECK (stage IN ('mlm','finetune')),
        step INTEGER NOT NULL,
        epoch REAL NOT NULL,
        loss REAL NOT NULL,
        learning_rate REAL NOT NULL,
        samples_per_second REAL,
        PRIMARY KEY (run_id, stage, step)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO step_metrics_v3 (run_id, stage, step, epoch, loss, learning_rate, samples_per_second)
        SELECT run_id, 'finetune', step, epoch, loss, learning_rate, samples_per_second FROM step_metrics;
      DROP TABLE step_metrics;
      ALTER TABLE step_metrics_v3 RENAME TO step_metrics;
    `);
  },
  // 4: partial indexes for what a process looks at when it starts (and the Runs page's "who is
  // training"): the runs that have an owner, and the runs left running or queued. Each holds
  // only those rows, so a start reads a handful of rows however many runs the history holds.
  (db) => {
    db.exec(`
      CREATE INDEX runs_owned ON runs (owner_pid) WHERE owner_pid IS NOT NULL;
      CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('running', 'queued');
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;
