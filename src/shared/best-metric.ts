/** Which evaluation is best: the highest accuracy or macro-F1, or the lowest loss; the first on ties. */
import type { BestMetric } from './run-config';
import type { EvalMetrics } from './types';

export type MetricSource = Pick<EvalMetrics, 'accuracy' | 'macroF1' | 'evalLoss'>;

/** The value of the metric that ranks evaluations (accuracy when the name is unknown). */
export function metricOf(m: MetricSource, name: BestMetric | string | null): number {
  return name === 'macro_f1' ? m.macroF1 : name === 'eval_loss' ? m.evalLoss : m.accuracy;
}

/** True when value beats the best so far (null: nothing yet). */
export function isBetter(value: number, best: number | null, name: BestMetric | string | null): boolean {
  if (best === null) return true;
  return name === 'eval_loss' ? value < best : value > best;
}

/** The evaluation that picked the best model. */
export function bestEvaluation<T extends MetricSource>(evals: readonly T[], name: BestMetric | string | null): T | null {
  let best: T | null = null;
  for (const m of evals) if (!best || isBetter(metricOf(m, name), metricOf(best, name), name)) best = m;
  return best;
}
