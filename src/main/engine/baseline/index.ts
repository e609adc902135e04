/**
 * The keyword baseline: TF-IDF (word 1-2 grams, sublinear tf, L2 rows) + multinomial logistic
 * regression (C = 10, L2 on the weights, fitted to convergence by L-BFGS), equal to
 * scikit-learn's TfidfVectorizer + LogisticRegression (scripts/sklearn-baseline.py runs that one).
 * Sparse and Float64 throughout; training reports progress and honours an AbortSignal.
 */
import { AppError } from '../../../shared/errors';
import { BASELINE_MAX_PARAMETERS, baselineNotComputedReason, baselineTooLargeReason } from '../../../shared/baseline';
import { argmaxRows, classificationReport, meanCrossEntropy, type ClassificationReport } from '../metrics';
import { csrBytes, type CsrMatrix } from './csr';
import { yieldToEventLoop, type StopReason } from './lbfgs';
import { fitSoftmaxRegression, parameterCount, sparseLogits } from './logistic';
import { fitTransformTfidf, TFIDF_SETTINGS, transformTfidf, transformTfidfSync, type TfidfVectorizer } from './tfidf';

export { wordTokens, ngramTerms, TFIDF_SETTINGS } from './tfidf';

export const BASELINE_FORMAT = 'finetune-studio/keyword-baseline';
export const BASELINE_FORMAT_VERSION = 1;
export const DEFAULT_C = 10;

export type BaselinePhase = 'vectorising' | 'fitting';

export interface BaselineTrainingData {
  texts: readonly string[];
  /** Class index of each text, into labelNames. */
  labels: ArrayLike<number>;
  /** Names of the classes; default "0", "1", ... up to the largest label. */
  labelNames?: readonly string[];
}

export interface BaselineTrainOptions {
  signal?: AbortSignal;
  /** Rows vectorised of all rows, then L-BFGS iterations done of the most allowed (the fit usually stops sooner). */
  onProgress?: (done: number, total: number, phase: BaselinePhase) => void;
  /** Inverse regularisation strength, as sklearn's C. */
  C?: number;
  maxIterations?: number;
  /** Converged when every partial derivative of the summed objective is at most this (sklearn's tol). */
  gradientTolerance?: number;
  /** Also converged when the objective falls by no more than this (relatively) per iteration, over five iterations. */
  relativeTolerance?: number;
  /** Upper bound for L-BFGS's kept pairs (2 vectors of the parameter count each): 3 to 10 pairs fit in it. */
  historyBytes?: number;
  /** The most weights (features × classes) fitted; more is refused ('unsupported') before they are allocated. */
  maxParameters?: number;
}

export interface BaselineFit {
  C: number;
  trainRows: number;
  features: number;
  iterations: number;
  converged: boolean;
  stopReason: StopReason;
  /** Summed cross-entropy + L2 penalty at the end. */
  objective: number;
  gradientMax: number;
  /** L-BFGS pairs kept. */
  history: number;
  seconds: number;
}

export interface BaselineModel {
  labels: string[];
  vectorizer: TfidfVectorizer;
  /** Feature-major weights: weights[j * K + k] for feature j, class k. */
  weights: Float64Array;
  intercepts: Float64Array;
  /** Classes with no training row: never predicted (probability 0). */
  absentClasses: number[];
  fit: BaselineFit;
}

export interface BaselineEvaluation extends ClassificationReport {
  /** Mean cross-entropy over the rows. */
  loss: number;
}

export interface SerialisedBaseline {
  format: typeof BASELINE_FORMAT;
  version: typeof BASELINE_FORMAT_VERSION;
  vectorizer: typeof TFIDF_SETTINGS;
  labels: string[];
  /** Feature names in feature order. */
  vocabulary: string[];
  idf: number[];
  /** weights[k][j]: class k, feature j (sklearn's coef_ layout). */
  weights: number[][];
  intercepts: number[];
  absentClasses: number[];
  fit: BaselineFit;
}

const DEFAULT_HISTORY_BYTES = 512 * 1024 * 1024;

function checkTrainingData(data: BaselineTrainingData): string[] {
  const { texts, labels } = data;
  if (texts.length !== labels.length) throw new AppError('invalid_input', `The keyword baseline got ${texts.length} texts but ${labels.length} labels; give one label per text.`, 'labels');
  if (texts.length === 0) throw new AppError('invalid_input', 'The keyword baseline needs at least one training row.', 'texts');
  let largest = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || (data.labelNames && label >= data.labelNames.length)) {
      throw new AppError('invalid_input', `Training row ${i + 1} has label ${label}, which is not a class index${data.labelNames ? ` (0 to ${data.labelNames.length - 1})` : ''}.`, 'labels');
    }
    if (label > largest) largest = label;
  }
  return data.labelNames ? [...data.labelNames] : Array.from({ length: largest + 1 }, (_, i) => String(i));
}

/** L-BFGS pairs that fit the memory bound: at least 3, at most 10 (scipy's default). */
export function historyFor(parameters: number, bytes = DEFAULT_HISTORY_BYTES): number {
  return Math.max(3, Math.min(10, Math.floor(bytes / (2 * parameters * 8))));
}

export async function trainBaseline(data: BaselineTrainingData, options: BaselineTrainOptions = {}): Promise<BaselineModel> {
  const started = performance.now();
  const labels = checkTrainingData(data);
  const { signal, onProgress } = options;
  const C = options.C ?? DEFAULT_C;
  const maxIterations = options.maxIterations ?? 1000;
  const what = 'Training the keyword baseline';
  const checkCancelled = (): void => {
    if (signal?.aborted) throw new AppError('cancelled', `${what} was cancelled.`);
  };
  checkCancelled();
  const tooManyClasses = baselineNotComputedReason(labels.length);
  if (tooManyClasses) throw new AppError('unsupported', `The keyword baseline was ${tooManyClasses}.`, 'labels');

  const n = data.texts.length;
  onProgress?.(0, n, 'vectorising');
  const { vectorizer, matrix } = await fitTransformTfidf(data.texts, {
    onRows: async (done, total) => {
      onProgress?.(done, total, 'vectorising');
      await yieldToEventLoop();
      checkCancelled();
    },
  });

  // Classes without a training row take no part in the fit (their intercept would run to -infinity).
  const K = labels.length;
  const present = new Int32Array(K).fill(-1);
  const presentClasses: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = data.labels[i];
    if (present[label] < 0) {
      present[label] = 0;
      presentClasses.push(label);
    }
  }
  presentClasses.sort((a, b) => a - b);
  presentClasses.forEach((c, i) => (present[c] = i));
  const absentClasses = labels.map((_, c) => c).filter((c) => present[c] < 0);
  const Kp = presentClasses.length;
  const V = vectorizer.terms.length;
  const maxParameters = options.maxParameters ?? BASELINE_MAX_PARAMETERS;
  if (parameterCount(V, Kp) > maxParameters) throw new AppError('unsupported', `The keyword baseline was ${baselineTooLargeReason(V, Kp, maxParameters)}.`, 'labels');
  const weights = new Float64Array(V * K);
  const intercepts = new Float64Array(K);
  const history = historyFor(parameterCount(V, Kp), options.historyBytes);
  let fit: Omit<BaselineFit, 'seconds'> = { C, trainRows: n, features: V, iterations: 0, converged: true, stopReason: 'gradient', objective: 0, gradientMax: 0, history };

  if (Kp > 1) {
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) y[i] = present[data.labels[i]];
    onProgress?.(0, maxIterations, 'fitting');
    const result = await fitSoftmaxRegression(
      { x: matrix, y, classes: Kp, l2: 1 / C },
      {
        maxIterations,
        gradientTolerance: options.gradientTolerance ?? 1e-5,
        relativeTolerance: options.relativeTolerance ?? 1e-10,
        history,
        signal,
        what,
        onIteration: ({ iteration }) => onProgress?.(iteration, maxIterations, 'fitting'),
      },
    );
    for (let j = 0; j < V; j++) {
      for (let k = 0; k < Kp; k++) weights[j * K + presentClasses[k]] = result.x[j * Kp + k];
    }
    for (let k = 0; k < Kp; k++) intercepts[presentClasses[k]] = result.x[V * Kp + k];
    fit = { ...fit, iterations: result.iterations, converged: result.converged, stopReason: result.reason, objective: result.objective, gradientMax: result.gradientMax };
  }
  onProgress?.(maxIterations, maxIterations, 'fitting');
  return { labels, vectorizer, weights, intercepts, absentClasses, fit: { ...fit, seconds: (performance.now() - started) / 1000 } };
}

function logitsOf(model: BaselineModel, x: CsrMatrix): Float64Array {
  const K = model.labels.length;
  const V = model.vectorizer.terms.length;
  // sparseLogits reads the intercepts after the weights, as the fit lays them out.
  const params = new Float64Array(V * K + K);
  params.set(model.weights);
  params.set(model.intercepts, V * K);
  const logits = sparseLogits(x, params, K);
  for (const c of model.absentClasses) for (let r = 0; r < x.rows; r++) logits[r * K + c] = -Infinity;
  return logits;
}

/** Class probabilities of each text (rows in label order). */
export function predictBaseline(model: BaselineModel, texts: readonly string[]): number[][] {
  const K = model.labels.length;
  const logits = logitsOf(model, transformTfidfSync(model.vectorizer, texts));
  return Array.from({ length: texts.length }, (_, r) => {
    const row = Array.from(logits.subarray(r * K, (r + 1) * K));
    const max = Math.max(...row);
    const exps = row.map((z) => Math.exp(z - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  });
}

/** Accuracy, macro-F1, per-class precision/recall/F1, confusion matrix and mean loss on labelled rows. */
export async function evaluateBaseline(model: BaselineModel, texts: readonly string[], labels: ArrayLike<number>, options: { signal?: AbortSignal } = {}): Promise<BaselineEvaluation> {
  const K = model.labels.length;
  if (texts.length !== labels.length) throw new AppError('invalid_input', `Evaluating the keyword baseline: ${texts.length} texts but ${labels.length} labels.`, 'labels');
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= K) throw new AppError('invalid_input', `Evaluation row ${i + 1} has label ${labels[i]}, which is not a class index (0 to ${K - 1}).`, 'labels');
  }
  const x = await transformTfidf(model.vectorizer, texts, {
    onRows: async () => {
      await yieldToEventLoop();
      if (options.signal?.aborted) throw new AppError('cancelled', 'Evaluating the keyword baseline was cancelled.');
    },
  });
  const logits = logitsOf(model, x);
  const report = classificationReport(model.labels, labels, argmaxRows(logits, K));
  return { ...report, loss: meanCrossEntropy(logits, labels, K) };
}

/** Bytes of the model's arrays (not counting the vocabulary's strings). */
export function baselineBytes(model: BaselineModel): number {
  return model.weights.byteLength + model.intercepts.byteLength + model.vectorizer.idf.byteLength;
}
export { csrBytes };

export function serialiseBaseline(model: BaselineModel): SerialisedBaseline {
  const K = model.labels.length;
  const V = model.vectorizer.terms.length;
  const weights = model.labels.map((_, k) => {
    const row = new Array<number>(V);
    for (let j = 0; j < V; j++) row[j] = model.weights[j * K + k];
    return row;
  });
  return {
    format: BASELINE_FORMAT,
    version: BASELINE_FORMAT_VERSION,
    vectorizer: TFIDF_SETTINGS,
    labels: [...model.labels],
    vocabulary: [...model.vectorizer.terms],
    idf: Array.from(model.vectorizer.idf),
    weights,
    intercepts: Array.from(model.intercepts),
    absentClasses: [...model.absentClasses],
    fit: { ...model.fit },
  };
}

function invalid(message: string, field: string): AppError {
  return new AppError('invalid_input', `This is not a keyword baseline file this version can read: ${message}`, field);
}

function finiteNumbers(value: unknown, length: number, field: string): Float64Array {
  if (!Array.isArray(value) || value.length !== length) throw invalid(`"${field}" must be a list of ${length} numbers.`, field);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v = value[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`"${field}" item ${i} is not a finite number.`, field);
    out[i] = v;
  }
  return out;
}

/** A model from serialiseBaseline's JSON (the object, or its text). */
export function loadBaseline(json: unknown): BaselineModel {
  const data = typeof json === 'string' ? (JSON.parse(json) as unknown) : json;
  if (typeof data !== 'object' || data === null) throw invalid('not a JSON object.', '');
  const o = data as Record<string, unknown>;
  if (o.format !== BASELINE_FORMAT) throw invalid(`"format" must be "${BASELINE_FORMAT}".`, 'format');
  if (o.version !== BASELINE_FORMAT_VERSION) throw new AppError('unsupported', `The keyword baseline file has version ${String(o.version)}; this version reads version ${BASELINE_FORMAT_VERSION}.`, 'version');
  const settings = o.vectorizer as Record<string, unknown> | undefined;
  if (JSON.stringify(settings) !== JSON.stringify(TFIDF_SETTINGS)) throw new AppError('unsupported', 'The keyword baseline file was made with other text features than this version computes.', 'vectorizer');
  if (!Array.isArray(o.labels) || o.labels.length < 1 || !o.labels.every((l) => typeof l === 'string')) throw invalid('"labels" must be a list of class names.', 'labels');
  if (!Array.isArray(o.vocabulary) || !o.vocabulary.every((t) => typeof t === 'string')) throw invalid('"vocabulary" must be a list of terms.', 'vocabulary');
  const labels = o.labels as string[];
  const terms = o.vocabulary as string[];
  const K = labels.length;
  const V = terms.length;
  const vocabulary = new Map<string, number>();
  terms.forEach((t, j) => vocabulary.set(t, j));
  if (vocabulary.size !== V) throw invalid('"vocabulary" lists a term twice.', 'vocabulary');
  const idf = finiteNumbers(o.idf, V, 'idf');
  if (!Array.isArray(o.weights) || o.weights.length !== K) throw invalid(`"weights" must hold one list per class (${K}).`, 'weights');
  const weights = new Float64Array(V * K);
  o.weights.forEach((row, k) => {
    const values = finiteNumbers(row, V, `weights.${k}`);
    for (let j = 0; j < V; j++) weights[j * K + k] = values[j];
  });
  const intercepts = finiteNumbers(o.intercepts, K, 'intercepts');
  const absentClasses = o.absentClasses ?? [];
  if (!Array.isArray(absentClasses) || !absentClasses.every((c) => Number.isInteger(c) && c >= 0 && c < K)) throw invalid('"absentClasses" must list class indices.', 'absentClasses');
  if (absentClasses.length >= K) throw invalid('every class is marked absent.', 'absentClasses');
  if (typeof o.fit !== 'object' || o.fit === null) throw invalid('"fit" must describe the fit.', 'fit');
  return {
    labels: [...labels],
    vectorizer: { terms: [...terms], vocabulary, idf },
    weights,
    intercepts,
    absentClasses: [...(absentClasses as number[])],
    fit: { ...(o.fit as BaselineFit) },
  };
}
