/**
 * What an export reads from a finished run: its folder, its RunConfig (config.json, or the
 * database row), its best model folder and, when a repository is given, its recorded metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PreparedDataset } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { hubIdSchema, looksLikeLocalPath } from '../../shared/models-schema';
import { runConfigSchema, type RunConfig } from '../../shared/run-config';
import type { RunDetail } from '../../shared/types';
import { datasetsDir, getPreparedDataset, preparedDatasetDir } from '../data';
import { MODEL_DIR, PREDICTIONS_FILE, RUN_CONFIG_FILE } from '../engine/layout';
import { runDir } from '../paths';
import type { RunRepository } from '../store/runs';
import type { ProtectedFolder } from './destination';

/** Run ids are folder names: no separators, no dot-only names. */
const RUN_ID = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

export interface RunSource {
  runId: string;
  dataDir: string;
  runDir: string;
  modelDir: string;
  /** eval_predictions.jsonl, or null when the run has none. */
  predictionsFile: string | null;
  config: RunConfig;
  /** Metrics and status from the database; null without a repository (or an unrecorded run). */
  detail: RunDetail | null;
}

export function checkRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw new AppError('invalid_input', `"${runId}" is not a run id (ids look like 20250101-120000-a1b2c3; see finetune runs list).`, 'runId');
}

function readRunConfig(file: string, fallback: unknown, runId: string): RunConfig {
  let raw: unknown = fallback;
  if (fs.existsSync(file)) {
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      if (fallback === undefined) throw new AppError('io', `${file} is damaged (${(err as Error).message}); the run ${runId} cannot be exported.`);
      raw = fallback;
    }
  }
  if (raw === undefined) throw new AppError('not_found', `Run ${runId} has no ${RUN_CONFIG_FILE} (${file}); it cannot be exported.`);
  const parsed = runConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('io', `The configuration of run ${runId} (${file}) is not valid: ${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}.`);
  }
  return parsed.data;
}

/** Loads a run for export; refuses a run that is still training or has no model yet. */
export function loadRunSource(dataDir: string, runId: string, runs?: RunRepository): RunSource {
  checkRunId(runId);
  const dir = runDir(dataDir, runId);
  let detail: RunDetail | null = null;
  if (runs) {
    detail = runs.get(runId);
    if (!detail) throw new AppError('not_found', `There is no run "${runId}". See finetune runs list (or the Runs page) for the ids.`, 'runId');
    if (detail.status === 'running' || detail.status === 'queued') {
      throw new AppError('conflict', `Run "${detail.name}" is ${detail.status}; wait for it to finish (or cancel it), then export.`, 'runId');
    }
  }
  if (!fs.existsSync(dir)) throw new AppError('not_found', `The folder of run ${runId} (${dir}) does not exist; it may have been deleted.`, 'runId');
  const config = readRunConfig(path.join(dir, RUN_CONFIG_FILE), detail?.config, runId);
  const modelDir = path.join(dir, MODEL_DIR);
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) {
    throw new AppError(
      'not_found',
      `Run ${runId} has no trained model (${modelDir}): it ended before its first evaluation. Resume it (finetune resume ${runId}) or train again.`,
      'runId',
    );
  }
  const predictions = path.join(dir, PREDICTIONS_FILE);
  return { runId, dataDir, runDir: dir, modelDir, predictionsFile: fs.existsSync(predictions) ? predictions : null, config, detail };
}

/** The prepared dataset of the run (meta.json), or null when it was deleted. */
export function runDataset(source: RunSource): PreparedDataset | null {
  try {
    return getPreparedDataset(source.dataDir, source.config.dataset.fingerprint);
  } catch {
    return null;
  }
}

/** The folder of the run's prepared dataset (config's path, else the data folder's). */
export function runDatasetDir(source: RunSource): string {
  const own = preparedDatasetDir(source.dataDir, source.config.dataset.fingerprint);
  if (fs.existsSync(own)) return own;
  return source.config.dataset.path ?? own;
}

export interface HubSource {
  repo: string;
  /** The commit of the cached snapshot the run trained from, when the model folder is one. */
  commit: string | null;
}

/** The Hub repository the run's model came from, or null for a local folder. */
export function hubSource(config: RunConfig): HubSource | null {
  const s = config.model.source.trim();
  if (looksLikeLocalPath(s) || !hubIdSchema.safeParse(s).success) return null;
  if (fs.existsSync(path.resolve(s))) return null;
  const m = /[/\\]snapshots[/\\]([0-9a-f]{40})(?:[/\\]|$)/.exec(config.model.path);
  return { repo: s, commit: m ? m[1]! : null };
}

/** Where exports of a run go by default: <run>/exports/. */
export function runExportsDir(dataDir: string, runId: string): string {
  return path.join(runDir(dataDir, runId), 'exports');
}

/** What an export of this run must not overwrite: the run's own files (its exports/ folder aside) and the prepared datasets. */
export function exportGuard(source: RunSource): ProtectedFolder[] {
  return [
    { dir: source.runDir, what: `the folder of run ${source.runId}`, allowInside: runExportsDir(source.dataDir, source.runId) },
    { dir: datasetsDir(source.dataDir), what: "the app's datasets folder" },
  ];
}
