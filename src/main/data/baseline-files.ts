/**
 * Where a prepared dataset keeps its keyword baseline: baseline.json (the model: vocabulary, idf,
 * weights) and baseline-report.json (its BaselineSummary) beside meta.json. Neither is part of
 * the dataset's fingerprint; both are written whole (temp-then-rename) by the engine worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BaselineSummary } from '../../shared/dataset';

export const BASELINE_MODEL_FILE = 'baseline.json';
export const BASELINE_REPORT_FILE = 'baseline-report.json';

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** The baseline report in a prepared dataset's folder, or null when there is none (or it is damaged). */
export function readBaselineReport(datasetDir: string): BaselineSummary | null {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(path.join(datasetDir, BASELINE_REPORT_FILE), 'utf8'));
  } catch {
    return null;
  }
  const o = data as Partial<BaselineSummary> | null;
  if (!o || typeof o !== 'object' || !isNumber(o.accuracy) || !isNumber(o.macroF1) || !Array.isArray(o.perClass) || !Array.isArray(o.confusion)) return null;
  return o as BaselineSummary;
}
