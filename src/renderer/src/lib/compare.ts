/**
 * Comparing runs: their curves on one x axis (epochs, so that runs with other batch sizes line up),
 * a diff of their configurations and datasets, and the per-class metric deltas against the first.
 */
import type { JsonObject, JsonValue } from '../../../shared/json';
import type { EvalMetrics, RunDetail } from '../../../shared/types';
import { bestEvalOf } from './run-info';
import { alignCurves, downsampleCurve, emaSmooth, type Aligned } from './series';

/** Flattens nested objects to dotted keys: {options: {epochs: 3}} -> {"options.epochs": 3}. */
export function flatten(value: JsonValue | undefined, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

export interface DiffRow {
  key: string;
  values: string[];
  differs: boolean;
}

/** Keys that are where a file happens to be, not what was trained: left out of the diff. */
const NOISE = new Set(['model.path', 'dataset.path']);

/** One row per configuration key (the union over the runs), differences first when asked. */
export function configDiff(configs: readonly JsonObject[], opts: { differencesFirst?: boolean } = {}): DiffRow[] {
  const flat = configs.map((c) => flatten(c));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => !NOISE.has(k));
  const rows = keys.map((key) => {
    const values = flat.map((f) => f[key] ?? '—');
    return { key, values, differs: values.some((v) => v !== values[0]) };
  });
  if (opts.differencesFirst) return [...rows.filter((r) => r.differs), ...rows.filter((r) => !r.differs)];
  return rows;
}

export interface ClassDelta {
  label: string;
  /** F1 of each run for this label (null where the run has no such label). */
  f1: (number | null)[];
  /** F1 of each run minus the first run's (null where either is missing). */
  delta: (number | null)[];
  support: (number | null)[];
}

/** Per-class F1 of each run's best evaluation, and the deltas against the first run. */
export function classDeltas(evals: readonly (EvalMetrics | null)[]): ClassDelta[] {
  const labels: string[] = [];
  for (const e of evals) for (const c of e?.perClass ?? []) if (!labels.includes(c.label)) labels.push(c.label);
  return labels.map((label) => {
    const rows = evals.map((e) => e?.perClass.find((c) => c.label === label) ?? null);
    const f1 = rows.map((r) => r?.f1 ?? null);
    const base = f1[0] ?? null;
    return {
      label,
      f1,
      delta: f1.map((v) => (v === null || base === null ? null : v - base)),
      support: rows.map((r) => r?.support ?? null),
    };
  });
}

export interface HeadlineDelta {
  name: string;
  values: (number | null)[];
  delta: (number | null)[];
}

export function headlineDeltas(evals: readonly (EvalMetrics | null)[]): HeadlineDelta[] {
  const rows: [string, (e: EvalMetrics) => number][] = [
    ['Accuracy', (e) => e.accuracy],
    ['Macro-F1', (e) => e.macroF1],
  ];
  return rows.map(([name, get]) => {
    const values = evals.map((e) => (e ? get(e) : null));
    const base = values[0] ?? null;
    return { name, values, delta: values.map((v) => (v === null || base === null ? null : v - base)) };
  });
}

export interface BaselineGap {
  /** Accuracy of the keyword baseline of the run's dataset (same evaluation rows), or null. */
  baseline: number | null;
  /** The run's best accuracy minus the baseline's (null where either is missing). */
  gap: number | null;
}

/** Each run against the keyword baseline of its own dataset. */
export function baselineGaps(runs: readonly Pick<RunDetail, 'baselineAccuracy'>[], evals: readonly (EvalMetrics | null)[]): BaselineGap[] {
  return runs.map((r, i) => {
    const baseline = r.baselineAccuracy ?? null;
    const accuracy = evals[i]?.accuracy ?? null;
    return { baseline, gap: baseline === null || accuracy === null ? null : accuracy - baseline };
  });
}

/** The best evaluation of a run as recorded (by the metric that picked its best model). */
export function bestEvalOfRun(run: RunDetail): EvalMetrics | null {
  return bestEvalOf(run.evals, run.bestMetricName);
}

/** Smoothed training loss of each run against epochs, aligned for one chart. */
export function lossCurves(runs: readonly RunDetail[], smoothing: number, maxPoints = 800): Aligned {
  return alignCurves(
    runs.map((r) => {
      const sorted = [...r.steps].sort((a, b) => a.step - b.step);
      const smoothed = emaSmooth(
        sorted.map((s) => s.loss),
        smoothing,
      );
      return downsampleCurve({ x: sorted.map((s) => s.epoch), y: smoothed }, maxPoints);
    }),
  );
}

/** A metric of each run's evaluations against epochs, aligned for one chart. */
export function evalCurves(runs: readonly RunDetail[], metric: (e: EvalMetrics) => number): Aligned {
  return alignCurves(
    runs.map((r) => {
      const sorted = [...r.evals].sort((a, b) => a.step - b.step);
      return { x: sorted.map((e) => e.epoch), y: sorted.map(metric) };
    }),
  );
}
