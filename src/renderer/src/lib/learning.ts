/**
 * The learning check in the UI: did a run's best evaluation beat "always answer the most common
 * label"? (shared/learning-check.ts holds the rule.) And "Run again" as a prefilled wizard, with the
 * check's suggested settings applied when it has some.
 */
import { assessLearning, type LearningVerdict, type ModelStart } from '../../../shared/learning-check';
import type { RunConfig, TrainingOptions } from '../../../shared/run-config';
import type { EvalMetrics } from '../../../shared/types';
import { modelName } from './run-info';

/** Rows per true label: the confusion matrix's row sums. */
export function supportOf(evaluation: Pick<EvalMetrics, 'confusion'>): number[] {
  return evaluation.confusion.map((row) => row.reduce((a, b) => a + b, 0));
}

export function modelStartOfConfig(config: Pick<RunConfig, 'modelStart'> | null | undefined): ModelStart {
  return config?.modelStart === 'scratch' ? 'scratch' : 'pretrained';
}

/** The verdict on a run's best evaluation, or null when there is none to judge. */
export function learningOf(config: RunConfig | null, best: EvalMetrics | null): LearningVerdict | null {
  if (!config || !best) return null;
  const support = supportOf(best);
  if (support.reduce((a, b) => a + b, 0) === 0) return null;
  return assessLearning({
    accuracy: best.accuracy,
    supportPerClass: support,
    learningRate: config.options.learningRate,
    epochs: config.options.epochs,
    start: modelStartOfConfig(config),
  });
}

/** What the wizard needs to start a run like this one again, with a change applied. */
export function rerunPrefill(config: RunConfig, change: Partial<TrainingOptions> = {}) {
  const name = config.name.replace(/( \(again\))+$/, '');
  return {
    run: {
      name,
      datasetId: config.dataset.fingerprint,
      datasetName: config.dataset.name,
      model: config.model.source,
      modelLabel: modelStartOfConfig(config) === 'scratch' ? `${modelName(config.model.source)} (from scratch)` : modelName(config.model.source),
      modelStart: modelStartOfConfig(config),
      options: { ...config.options },
    },
    change,
  };
}
