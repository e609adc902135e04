/**
 * A damaged run database is noticed at start, kept aside untouched, and the history rebuilt from
 * the run folders. Damage is: a zero-length finetune.db while run folders exist (the history
 * would silently be empty), a header SQLite does not recognise ("file is not a database"), or a
 * `PRAGMA quick_check` that is not "ok". The damaged file and its -wal/-shm are renamed to
 * finetune.db.damaged-<ts>[-wal|-shm]; a new database is created and every runs/<id>/ with a
 * config.json becomes a run again (name, settings, status from its train.log, steps and
 * evaluations from its metrics.jsonl, model, predictions and checkpoint artifacts).
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

/** Why the database file is damaged, or null when it opens and passes quick_check (or does not exist). */
export function databaseDamage(file: string, dataDir: string, nativeBinding?: string): string | null {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return null;
  }
  if (size === 0) {
    return runFolderIds(dataDir).some((id) => fs.existsSync(path.join(runDir(dataDir, id), RUN_CONFIG_FILE)))
      ? 'the file is empty (0 bytes) while run folders exist'
      : null;
  }
  // The header is checked by hand: opening a file SQLite does not recognise can remove its -wal.
  const header = Buffer.alloc(16);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (header.toString('latin1') !== 'SQLite format 3\0') return 'file is not a database (its header is damaged)';
  let db: Database.Database | undefined;
  try {
    // Read-only: the check must not checkpoint a WAL into a damaged file.
    db = new Database(file, { readonly: true, ...(nativeBinding ? { nativeBinding } : {}) });
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    return problems.length ? `quick_check found: ${problems.slice(0, 3).join('; ')}` : null;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT')) {
      return `${(err as Error).message} (${code})`;
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
}

/** Opens <dataDir>/finetune.db; a damaged one is moved aside and the history rebuilt from the run folders. */
export function openRunDatabase(dataDir: string, options: OpenDatabaseOptions = {}): OpenedRunDatabase {
  const file = databasePath(dataDir);
  const damage = databaseDamage(file, dataDir, options.nativeBinding);
  if (!damage) return { db: openDatabase(file, options), notices: [] };
  const aside = moveDamagedAside(file);
  const db = openDatabase(file, options);
  const count = rebuildFromRunFolders(db, dataDir);
  return {
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
