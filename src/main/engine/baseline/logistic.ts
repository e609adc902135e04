/**
 * Multinomial (softmax) logistic regression on sparse rows, as scikit-learn's
 * LogisticRegression(multi_class='multinomial', solver='lbfgs') fits it: minimise
 *   sum_i -log softmax(W x_i + b)[y_i]  +  1 / (2C) * ||W||^2      (the intercepts b not penalised)
 * from zero. Parameters are one Float64Array: W feature-major (W[j * K + k]), then b[0..K).
 */
import type { CsrMatrix } from './csr';
import { minimiseLbfgs, type LbfgsOptions, type LbfgsResult } from './lbfgs';

export interface SoftmaxProblem {
  x: CsrMatrix;
  /** Class of each row, 0..classes-1. */
  y: ArrayLike<number>;
  classes: number;
  /** 1 / C. */
  l2: number;
}

export function parameterCount(features: number, classes: number): number {
  return features * classes + classes;
}

/**
 * logits[r * K + k] = x_r . W[:, k] + b[k]. Classes go in blocks of four with one accumulator
 * each: a loop that adds into out[] entry by entry is two to three times slower in V8.
 */
export function sparseLogits(x: CsrMatrix, params: Float64Array, classes: number, out: Float64Array = new Float64Array(x.rows * classes)): Float64Array {
  const K = classes;
  const K4 = K - (K % 4);
  const bias = x.cols * K;
  const { rowPtr, indices, values } = x;
  for (let r = 0; r < x.rows; r++) {
    const o = r * K;
    const start = rowPtr[r];
    const end = rowPtr[r + 1];
    for (let k = 0; k < K4; k += 4) {
      let a = params[bias + k];
      let b = params[bias + k + 1];
      let c = params[bias + k + 2];
      let d = params[bias + k + 3];
      for (let p = start; p < end; p++) {
        const v = values[p];
        const w = indices[p] * K + k;
        a += v * params[w];
        b += v * params[w + 1];
        c += v * params[w + 2];
        d += v * params[w + 3];
      }
      out[o + k] = a;
      out[o + k + 1] = b;
      out[o + k + 2] = c;
      out[o + k + 3] = d;
    }
    for (let k = K4; k < K; k++) {
      let a = params[bias + k];
      for (let p = start; p < end; p++) a += values[p] * params[indices[p] * K + k];
      out[o + k] = a;
    }
  }
  return out;
}

/** gradient[W] += X^T residual, gradient[b] += column sums of residual (residual is rows x K). */
function addSparseGradient(x: CsrMatrix, residual: Float64Array, classes: number, gradient: Float64Array): void {
  const K = classes;
  const K4 = K - (K % 4);
  const bias = x.cols * K;
  const { rowPtr, indices, values } = x;
  for (let r = 0; r < x.rows; r++) {
    const o = r * K;
    const start = rowPtr[r];
    const end = rowPtr[r + 1];
    for (let k = 0; k < K; k++) gradient[bias + k] += residual[o + k];
    for (let k = 0; k < K4; k += 4) {
      const a = residual[o + k];
      const b = residual[o + k + 1];
      const c = residual[o + k + 2];
      const d = residual[o + k + 3];
      for (let p = start; p < end; p++) {
        const v = values[p];
        const w = indices[p] * K + k;
        gradient[w] += v * a;
        gradient[w + 1] += v * b;
        gradient[w + 2] += v * c;
        gradient[w + 3] += v * d;
      }
    }
    for (let k = K4; k < K; k++) {
      const a = residual[o + k];
      for (let p = start; p < end; p++) gradient[indices[p] * K + k] += values[p] * a;
    }
  }
}

/** The objective and its gradient; `scratch` holds n * K values between calls. */
export function softmaxLossGradient(problem: SoftmaxProblem, params: Float64Array, gradient: Float64Array, scratch: Float64Array = new Float64Array(problem.x.rows * problem.classes)): number {
  const { x, y, classes: K, l2 } = problem;
  const z = sparseLogits(x, params, K, scratch);
  let loss = 0;
  // z becomes the residual softmax(z) - onehot(y).
  for (let r = 0; r < x.rows; r++) {
    const o = r * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (z[o + k] > max) max = z[o + k];
    const label = y[r];
    const labelLogit = z[o + label];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(z[o + k] - max);
      sum += e;
      z[o + k] = e;
    }
    loss += Math.log(sum) + max - labelLogit;
    for (let k = 0; k < K; k++) z[o + k] /= sum;
    z[o + label] -= 1;
  }
  // The penalty's gradient first (it sets every weight entry), then the data's.
  const bias = x.cols * K;
  let penalty = 0;
  for (let i = 0; i < bias; i++) {
    const w = params[i];
    penalty += w * w;
    gradient[i] = l2 * w;
  }
  for (let k = 0; k < K; k++) gradient[bias + k] = 0;
  addSparseGradient(x, z, K, gradient);
  return loss + 0.5 * l2 * penalty;
}

/**
 * Fits from zero. The columns are renumbered by how many rows use them, most used first, for the
 * fit only: the weights of the frequent terms then sit together in memory and stay in cache
 * (alphabetical order scatters them), which makes each pass several times faster. The result is
 * in the matrix's own column order.
 */
export async function fitSoftmaxRegression(problem: SoftmaxProblem, options: LbfgsOptions = {}): Promise<LbfgsResult> {
  const { x, classes: K } = problem;
  const uses = new Int32Array(x.cols);
  for (let p = 0; p < x.indices.length; p++) uses[x.indices[p]]++;
  const byUse = Int32Array.from({ length: x.cols }, (_, j) => j).sort((a, b) => uses[b] - uses[a] || a - b);
  const position = new Int32Array(x.cols);
  for (let i = 0; i < byUse.length; i++) position[byUse[i]] = i;
  const indices = new Int32Array(x.indices.length);
  for (let p = 0; p < indices.length; p++) indices[p] = position[x.indices[p]];
  const renumbered: SoftmaxProblem = { ...problem, x: { ...x, indices } };

  const scratch = new Float64Array(x.rows * K);
  const x0 = new Float64Array(parameterCount(x.cols, K));
  const result = await minimiseLbfgs((params, gradient) => softmaxLossGradient(renumbered, params, gradient, scratch), x0, options);
  const params = new Float64Array(result.x.length);
  for (let j = 0; j < x.cols; j++) {
    const from = position[j] * K;
    for (let k = 0; k < K; k++) params[j * K + k] = result.x[from + k];
  }
  params.set(result.x.subarray(x.cols * K), x.cols * K);
  return { ...result, x: params };
}
