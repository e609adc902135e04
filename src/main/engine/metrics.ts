/** Classification metrics as scikit-learn computes them (macro-F1 over the classes seen). */
import type { ClassMetrics } from '../../shared/types';

export interface ClassificationReport {
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted]. */
  confusion: number[][];
}

export function classificationReport(labels: readonly string[], truth: ArrayLike<number>, predicted: ArrayLike<number>): ClassificationReport {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const perClass: ClassMetrics[] = [];
  let f1Sum = 0;
  let counted = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c]![c]!;
    let support = 0;
    let predictedCount = 0;
    for (let j = 0; j < k; j++) {
      support += confusion[c]![j]!;
      predictedCount += confusion[j]![c]!;
    }
    const precision = predictedCount ? tp / predictedCount : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ label: labels[c]!, precision, recall, f1, support });
    // sklearn's macro average runs over the labels present in y_true or y_pred.
    if (support > 0 || predictedCount > 0) {
      f1Sum += f1;
      counted++;
    }
  }
  return { accuracy: truth.length ? correct / truth.length : 0, macroF1: counted ? f1Sum / counted : 0, perClass, confusion };
}

/** Softmax of each row of flat logits [n * k]. */
export function softmaxRows(logits: ArrayLike<number>, k: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / k; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[r * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(logits[r * k + j]! - max);
      out[r * k + j] = e;
      sum += e;
    }
    for (let j = 0; j < k; j++) out[r * k + j]! /= sum;
  }
  return out;
}

/** Mean cross-entropy of flat logits against labels (the eval loss). */
export function meanCrossEntropy(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  let total = 0;
  for (let r = 0; r < labels.length; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[r * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[r * k + j]! - max);
    total += Math.log(sum) + max - logits[r * k + labels[r]!]!;
  }
  return labels.length ? total / labels.length : 0;
}

export function argmaxRows(values: ArrayLike<number>, k: number): Int32Array {
  const n = values.length / k;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[r * k + j]! > values[r * k + best]!) best = j;
    out[r] = best;
  }
  return out;
}
