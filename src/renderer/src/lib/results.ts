/** Results helpers: heat map shading, the labels of a run, eval-row probabilities. */
import type { EvalPrediction } from '../../../shared/types';

/** Opacity of a confusion cell: its share of the row, with a floor so that non-zero cells show. */
export function heatAlpha(count: number, rowTotal: number): number {
  if (count <= 0 || rowTotal <= 0) return 0;
  return Math.min(1, 0.08 + 0.92 * (count / rowTotal));
}

/** The most likely labels of an evaluation row, with their probabilities. */
export function topProbabilities(p: Pick<EvalPrediction, 'probs'>, labels: readonly string[], n = 3): { label: string; p: number }[] {
  return p.probs
    .map((v, i) => ({ label: labels[i] ?? `#${i}`, p: v }))
    .sort((a, b) => b.p - a.p)
    .slice(0, n);
}

/** Labels of a run's recorded configuration (falls back to the per-class names of an evaluation). */
export function runLabels(config: { labels?: unknown } | null, perClass: readonly { label: string }[] = []): string[] {
  const l = config?.labels;
  if (Array.isArray(l) && l.every((x) => typeof x === 'string')) return l as string[];
  return perClass.map((c) => c.label);
}
