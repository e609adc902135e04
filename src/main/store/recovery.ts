/**
 * A damaged run database is noticed at start, kept aside untouched, and the history rebuilt from
 * the run folders. Damage is: a zero-length finetune.db while run folders exist (the history
 * would silently be empty), a header SQLite does not recognise ("file is not a database"), or a
 * `PRAGMA quick_check` that is not "ok". The damaged file and its -wal/-shm are renamed to
 * finetune.db.damaged-<ts>[-wal|-shm]; a new database is created and every runs/<id>/ with a
 * config.json becomes a run again (name, settings, status from its train.log, steps and
 * evaluations from its metrics.jsonl, model, predictions and checkpoint artifacts).
 *
 * quick_check reads the whole file: 0.7 to 2.7 s for 118 MB and 4 to 13 s for 1.2 GB on the 2-core
 * dev machine, warm cache, idle to busy (npm run bench:db).
 * So a database up to ALWAYS_CHECK_BYTES is quick_checked at every start; a bigger one only when
 * its last process did not close it cleanly or the file changed since: a clean close writes
 * finetune.db.clean (the file's size and time then), removed again when a process opens the
 * database. The cheap checks (empty file, header, schema) run at every start.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { JsonObject } from '../../shared/json';
import type { EvalMetrics, RunStatus, StartupNotice, StepMetric } from '../../shared/types';
import { latestCheckpoint } from '../engine/checkpoint';
import { MODEL_DIR, PREDICTIONS_FILE, RUN_CONFIG_FILE, TRAIN_LOG_FILE } from '../engine/layout';
import { runDir, runsDir } from '../paths';
import { databasePath, openDatabase, type OpenDatabaseOptions } from './database';
import { RunRepository } from './runs';

/** Steps and evaluations, one JSON object a line, appended by the run service beside the database. */
export const METRICS_FILE = 'metrics.jsonl';

export type MetricsLine = { type: 'step'; metric: StepMetric } | { type: 'eval'; metrics: EvalMetrics };

function runFolderIds(dataDir: string): string[] {
  try {
    return fs
      .readdirSync(runsDir(dataDir), { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** A database up to this size is quick_checked at every start (about 0.4 s at 64 MB). */
export const ALWAYS_CHECK_BYTES = 64 * 1024 * 1024;

/** Beside finetune.db: its size and time when the last process closed it cleanly. */
export const CLEAN_CLOSE_FILE = 'finetune.db.clean';

interface CleanClose {
  size: number;
  mtimeMs: number;
}

/**
 * After the app closed the database: records the file as it is now, when no other process
 * holds it (its -wal is gone: the last connection checkpointed it), so the next start may skip
 * quick_check on a big database.
 */
export function markCleanClose(dataDir: string): void {
  const file = databasePath(dataDir);
  try {
    if (fs.existsSync(`${file}-wal`)) return;
    const st = fs.statSync(file);
    const marker: CleanClose = { size: st.size, mtimeMs: st.mtimeMs };
    fs.writeFileSync(path.join(dataDir, CLEAN_CLOSE_FILE), JSON.stringify(marker));
  } catch {
    // No marker: the next start checks fully.
  }
}

/** True when the database file is as the last clean close left it (and no -wal holds changes). */
function unchangedSinceCleanClose(file: string, dataDir: string): boolean {
  try {
    if (fs.existsSync(`${file}-wal`)) return false;
    const marker = JSON.parse(fs.readFileSync(path.join(dataDir, CLEAN_CLOSE_FILE), 'utf8')) as Partial<CleanClose>;
    const st = fs.statSync(file);
    return marker.size === st.size && marker.mtimeMs === st.mtimeMs;
  } catch {
    return false;
  }
}

export interface DamageCheckOptions {
  /** Up to this size the file is always quick_checked (default ALWAYS_CHECK_BYTES). */
  alwaysCheckBytes?: number;
}

/** Why the database file is damaged, or null when it opens and passes quick_check (or does not exist). */
export function databaseDamage(file: string, dataDir: string, nativeBinding?: string, options: DamageCheckOptions = {}): string | null {
  return checkDatabase(file, dataDir, nativeBinding, options).damage;
}

/** databaseDamage, and whether quick_check ran ('full') or only the cheap checks ('cheap'). */
export function checkDatabase(file: string, dataDir: string, nativeBinding?: string, options: DamageCheckOptions = {}): { damage: string | null; check: 'full' | 'cheap' } {
  const full = (damage: string | null) => ({ damage, check: 'full' as const });
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return full(null);
  }
  if (size === 0) {
    return full(
      runFolderIds(dataDir).some((id) => fs.existsSync(path.join(runDir(dataDir, id), RUN_CONFIG_FILE)))
        ? 'the file is empty (0 bytes) while run folders exist'
        : null,
    );
  }
  // The header is checked by hand: opening a file SQLite does not recognise can remove its -wal.
  const header = Buffer.alloc(16);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (header.toString('latin1') !== 'SQLite format 3\0') return full('file is not a database (its header is damaged)');
  const thorough = size <= (options.alwaysCheckBytes ?? ALWAYS_CHECK_BYTES) || !unchangedSinceCleanClose(file, dataDir);
  const check = thorough ? ('full' as const) : ('cheap' as const);
  let db: Database.Database | undefined;
  try {
    // Read-only: the check must not checkpoint a WAL into a damaged file.
    db = new Database(file, { readonly: true, ...(nativeBinding ? { nativeBinding } : {}) });
    if (!thorough) {
      // The schema and the first page of each table: damage there fails every start.
      db.prepare('SELECT name FROM sqlite_master').all();
      for (const table of ['runs', 'step_metrics', 'epoch_metrics', 'artifacts']) {
        if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)) db.prepare(`SELECT * FROM ${table} LIMIT 1`).all();
      }
      return { damage: null, check };
    }
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    return { damage: problems.length ? `quick_check found: ${problems.slice(0, 3).join('; ')}` : null, check };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT')) {
      return { damage: `${(err as Error).message} (${code})`, check };
    }
    throw err; // not damage (permissions, a locked file...): openDatabase reports it
  } finally {
    db?.close();
  }
}

/** Renames the damaged file and its -wal/-shm aside, untouched. Returns the new path of the main file. */
export function moveDamagedAside(file: string, at = Date.now()): string {
  const stamp = new Date(at).toISOString().replace(/[:.]/g, '-');
  const aside = `${file}.damaged-${stamp}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
  }
  return aside;
}

function readJsonObject(file: string): JsonObject | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : null;
  } catch {
    return null;
  }
}

/** The run's final status from the last line of its train.log ("<ISO time> <status>[: error]"), as the run service writes it. */
function statusFromLog(file: string): { status: RunStatus; error: string | null; startedAt: number | null; finishedAt: number | null } {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    // no log
  }
  const at = (line: string | undefined): number | null => {
    if (!line) return null;
    const t = Date.parse(line.slice(0, line.indexOf(' ')));
    return Number.isNaN(t) ? null : t;
  };
  const last = lines.at(-1);
  const message = last ? last.slice(last.indexOf(' ') + 1) : '';
  const m = /^(completed|failed|cancelled|interrupted)(?:: (.*))?$/.exec(message);
  const status = (m?.[1] as RunStatus | undefined) ?? 'interrupted';
  const error = m ? (m[2] ?? null) : 'The run database was rebuilt and this run had not finished; resume it to continue from its last checkpoint.';
  return { status, error, startedAt: at(lines[0]), finishedAt: at(last) };
}

function readMetrics(file: string): { steps: StepMetric[]; evals: EvalMetrics[] } {
  const steps = new Map<number, StepMetric>();
  const evals = new Map<number, EvalMetrics>();
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { steps: [], evals: [] };
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line) as MetricsLine;
      // A resumed run replays steps after its checkpoint: the last line for a step wins.
      if (m.type === 'step') steps.set(m.metric.step, m.metric);
      else if (m.type === 'eval') evals.set(m.metrics.step, m.metrics);
    } catch {
      // A line cut by a kill: skip it.
    }
  }
  return { steps: [...steps.values()].sort((a, b) => a.step - b.step), evals: [...evals.values()].sort((a, b) => a.step - b.step) };
}

const RUN_ID_TIME = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-/;

/** Recreates a run row (and its metrics and artifacts) for every run folder with a config.json. Returns how many. */
export function rebuildFromRunFolders(db: Database.Database, dataDir: string): number {
  const runs = new RunRepository(db);
  let count = 0;
  for (const id of runFolderIds(dataDir)) {
    const dir = runDir(dataDir, id);
    const config = readJsonObject(path.join(dir, RUN_CONFIG_FILE));
    if (!config) continue;
    const log = statusFromLog(path.join(dir, TRAIN_LOG_FILE));
    const idTime = RUN_ID_TIME.exec(id);
    const createdAt = idTime
      ? new Date(+idTime[1]!, +idTime[2]! - 1, +idTime[3]!, +idTime[4]!, +idTime[5]!, +idTime[6]!).getTime()
      : (log.startedAt ?? fs.statSync(dir).mtimeMs);
    const model = config.model as { source?: unknown } | undefined;
    const dataset = config.dataset as { fingerprint?: unknown; name?: unknown } | undefined;
    const options = config.options as { bestMetric?: unknown } | undefined;
    db.transaction(() => {
      runs.create({
        id,
        name: typeof config.name === 'string' && config.name ? config.name : id,
        config,
        modelId: typeof model?.source === 'string' ? model.source : null,
        datasetFingerprint: typeof dataset?.fingerprint === 'string' ? dataset.fingerprint : null,
        datasetName: typeof dataset?.name === 'string' ? dataset.name : null,
        status: 'queued',
        createdAt,
      });
      if (log.startedAt !== null) runs.setStatus(id, 'running', { at: log.startedAt });
      runs.setStatus(id, log.status, { error: log.error, at: log.finishedAt ?? Date.now() });
      const metrics = readMetrics(path.join(dir, METRICS_FILE));
      if (metrics.steps.length) runs.addSteps(id, metrics.steps);
      const bestName = options?.bestMetric === 'macro_f1' || options?.bestMetric === 'eval_loss' ? options.bestMetric : 'accuracy';
      const value = (e: EvalMetrics): number => (bestName === 'macro_f1' ? e.macroF1 : bestName === 'eval_loss' ? e.evalLoss : e.accuracy);
      let best: EvalMetrics | null = null;
      for (const e of metrics.evals) {
        runs.addEval(id, e);
        if (!best || (bestName === 'eval_loss' ? value(e) < value(best) : value(e) > value(best))) best = e;
      }
      if (best) runs.setBest(id, { metricName: bestName, value: value(best), accuracy: best.accuracy });
      if (fs.existsSync(path.join(dir, TRAIN_LOG_FILE))) runs.addArtifact(id, 'log', path.join(dir, TRAIN_LOG_FILE));
      if (fs.existsSync(path.join(dir, MODEL_DIR, 'config.json'))) runs.addArtifact(id, 'model', path.join(dir, MODEL_DIR));
      if (fs.existsSync(path.join(dir, PREDICTIONS_FILE))) runs.addArtifact(id, 'predictions', path.join(dir, PREDICTIONS_FILE));
      const ckpt = latestCheckpoint(dir);
      if (ckpt) runs.addArtifact(id, 'checkpoint', ckpt);
    })();
    count++;
  }
  return count;
}

export interface OpenedRunDatabase {
  db: Database.Database;
  notices: StartupNotice[];
  /** Whether quick_check ran at this start ('full') or only the cheap checks ('cheap'). */
  check: 'full' | 'cheap';
}

/**
 * Opens <dataDir>/finetune.db; a damaged one is moved aside and the history rebuilt from the run
 * folders. The clean-close marker is removed while the database is open (markCleanClose writes it
 * again after a clean close).
 */
export function openRunDatabase(dataDir: string, options: OpenDatabaseOptions & DamageCheckOptions = {}): OpenedRunDatabase {
  const file = databasePath(dataDir);
  const { damage, check } = checkDatabase(file, dataDir, options.nativeBinding, options);
  fs.rmSync(path.join(dataDir, CLEAN_CLOSE_FILE), { force: true });
  if (!damage) return { db: openDatabase(file, options), notices: [], check };
  const aside = moveDamagedAside(file);
  const db = openDatabase(file, options);
  const count = rebuildFromRunFolders(db, dataDir);
  return {
    check,
    db,
    notices: [
      {
        kind: 'database-rebuilt',
        path: aside,
        message:
          `The run database was damaged (${damage}). It was kept untouched as ${aside}, and the history was rebuilt ` +
          `from the ${count} run folder${count === 1 ? '' : 's'} in ${runsDir(dataDir)}. Step metrics recorded before this version may be missing.`,
      },
    ],
  };
}
