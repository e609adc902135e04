/**
 * A run against the keyword baseline of its dataset (TF-IDF + logistic regression, trained in
 * seconds on the same training rows, scored on the same evaluation rows): one verdict and one
 * wording for the Results step, the CLI and the model card.
 */
import { formatCount, formatPercent } from './format';

/**
 * Above this many classes the keyword baseline is not computed: its L-BFGS fit costs classes ×
 * features per iteration. Measured on the 2-core dev machine (busy): 200 classes × 3 rows 14 s,
 * 200 × 50 rows 93 s, 1,000 × 3 rows 81 s; 10,000 classes take far longer (and gigabytes of
 * weights). 100 covers the usual sets (AG News 4, DBpedia 14, Banking77 77).
 */
export const BASELINE_MAX_CLASSES = 100;

/** The most weights (word features × classes) the baseline fits: about 200 MB per Float64 vector, of which L-BFGS keeps a dozen. */
export const BASELINE_MAX_PARAMETERS = 25_000_000;

/** Why the baseline is not computed for a dataset of `classes` classes, or null when it is. */
export function baselineNotComputedReason(classes: number): string | null {
  if (classes <= BASELINE_MAX_CLASSES) return null;
  return `not computed: ${formatCount(classes)} classes; the keyword baseline is computed for up to ${formatCount(BASELINE_MAX_CLASSES)} classes`;
}

/** Why a fit of `features` × `classes` weights is not made (over `max`). */
export function baselineTooLargeReason(features: number, classes: number, max: number = BASELINE_MAX_PARAMETERS): string {
  return `not computed: ${formatCount(features)} word features × ${formatCount(classes)} classes is more than the ${formatCount(max)} weights the keyword baseline fits`;
}

/** Within this many points of accuracy the two are called level. */
export const BASELINE_LEVEL_MARGIN = 0.005;

export type BaselineVerdict = 'model-wins' | 'level' | 'baseline-wins';

export interface BaselineComparison {
  verdict: BaselineVerdict;
  /** Model accuracy minus baseline accuracy (fraction; negative when the model loses). */
  difference: number;
  /** "Your model 79.2 % vs keyword baseline 83.1 %". */
  headline: string;
  /** What it means, in plain words (and what to do when the model loses). */
  advice: string;
}

export function compareWithBaseline(modelAccuracy: number, baselineAccuracy: number): BaselineComparison {
  const difference = modelAccuracy - baselineAccuracy;
  const verdict: BaselineVerdict = difference > BASELINE_LEVEL_MARGIN ? 'model-wins' : difference < -BASELINE_LEVEL_MARGIN ? 'baseline-wins' : 'level';
  const points = Math.abs(difference * 100).toFixed(1);
  const advice =
    verdict === 'baseline-wins'
      ? `A simple keyword model beats this run by ${points} points: try more epochs, a pretrained model, or use the keyword model instead.`
      : verdict === 'level'
        ? 'A simple keyword model does as well as this run: the fine-tuned model adds little here. Try more epochs or a pretrained model.'
        : `This run beats a simple keyword model by ${points} points.`;
  return { verdict, difference, headline: `Your model ${formatPercent(modelAccuracy)} vs keyword baseline ${formatPercent(baselineAccuracy)}`, advice };
}
