/**
 * Did the model learn anything? One rule for the Results step, the runs table, the CLI's summary
 * and the model card: a model whose accuracy is at or below what "always answer the most common
 * label" gets on the same evaluation rows has not learned, however green its run finished.
 *
 * The advice is concrete and typed (a suggested learning rate and epoch count), so the UI can offer
 * "Run again with these settings" and the CLI can print the flags, without parsing words.
 */
import { formatPercent, formatRate } from './format';

/** Where a model's weights came from: a pretrained checkpoint, or a random start ("from scratch"). */
export type ModelStart = 'pretrained' | 'scratch';

/** Settings that suit each start, chosen by measurement (README "From scratch"; issue notes). */
export const START_PRESETS: Readonly<Record<ModelStart, { learningRate: number; epochs: number; warmupRatio: number }>> = {
  // transformers' Trainer recipe for fine-tuning a pretrained encoder.
  pretrained: { learningRate: 2e-5, epochs: 3, warmupRatio: 0 },
  // A random encoder needs a much larger step: at 2e-5 an 8-class set stayed at ln(8) loss
  // (12.9 %), at 1e-3 the same data reached 79 %.
  scratch: { learningRate: 1e-3, epochs: 5, warmupRatio: 0.1 },
};

export interface LearningInput {
  /** Accuracy on the evaluation rows, 0..1. */
  accuracy: number;
  /** Evaluation rows per true label (the confusion matrix's row sums, or per-class support). */
  supportPerClass: readonly number[];
  /** The learning rate the run used. */
  learningRate: number;
  /** The run's epochs. */
  epochs: number;
  start: ModelStart;
}

export type LearningVerdict =
  | { learned: true; majorityRate: number; margin: number }
  | {
      learned: false;
      /** Accuracy of always predicting the most common label on the same rows, 0..1. */
      majorityRate: number;
      /** Settings to try next; null when the run already used them (then: more data or a pretrained model). */
      suggestion: { learningRate: number; epochs: number } | null;
      /** One plain sentence for people: what happened and what to try. */
      advice: string;
    };

/** Share of the most common label among the evaluation rows (0 when there are none). */
export function majorityRate(supportPerClass: readonly number[]): number {
  const total = supportPerClass.reduce((a, b) => a + b, 0);
  return total > 0 ? Math.max(...supportPerClass) / total : 0;
}



/**
 * The verdict. A margin of half a point over the majority rate is required, so a model that
 * answers one label for almost every row (and gets lucky on a few) is still flagged.
 */
export function assessLearning(input: LearningInput): LearningVerdict {
  const base = majorityRate(input.supportPerClass);
  const margin = input.accuracy - base;
  if (margin > 0.005) return { learned: true, majorityRate: base, margin };
  const preset = START_PRESETS[input.start];
  let suggestion: { learningRate: number; epochs: number } | null = null;
  if (input.start === 'scratch' && input.learningRate < preset.learningRate / 2) {
    suggestion = { learningRate: preset.learningRate, epochs: Math.max(input.epochs, preset.epochs) };
  } else if (input.start === 'pretrained' && input.learningRate > 1e-4) {
    // A pretrained encoder driven too hard forgets what it knew: back to the Trainer's rate.
    suggestion = { learningRate: preset.learningRate, epochs: Math.max(input.epochs, preset.epochs) };
  } else if (input.epochs < 2 * preset.epochs) {
    suggestion = { learningRate: input.learningRate, epochs: Math.max(2 * input.epochs, preset.epochs) };
  }
  const what = `The model has not learned: its accuracy (${formatPercent(input.accuracy)}) is no better than always answering the most common label (${formatPercent(base)}).`;
  const next = suggestion
    ? ` Try learning rate ${formatRate(suggestion.learningRate)} and ${suggestion.epochs} epochs${input.start === 'scratch' ? ' (a model started from scratch needs a larger learning rate than a pretrained one)' : ''}.`
    : ' Try a pretrained model, or more labelled rows per label.';
  return { learned: false, majorityRate: base, suggestion, advice: what + next };
}
