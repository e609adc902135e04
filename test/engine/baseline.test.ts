/**
 * The keyword baseline (src/main/engine/baseline) against scikit-learn: tokens, tf-idf values and
 * the fitted logistic regression recorded from scikit-learn 1.2.1 (Debian's python3-sklearn), a
 * gradient check, convergence, serialise/load, cancellation, and the acceptance check on AG News.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { HEAVY_TEST_TIMEOUT_MS } from './timeouts';
import {
  evaluateBaseline,
  historyFor,
  loadBaseline,
  predictBaseline,
  serialiseBaseline,
  trainBaseline,
  wordTokens,
  ngramTerms,
  type BaselineModel,
} from '../../src/main/engine/baseline';
import { CsrBuilder } from '../../src/main/engine/baseline/csr';
import { minimiseLbfgs } from '../../src/main/engine/baseline/lbfgs';
import { parameterCount, softmaxLossGradient } from '../../src/main/engine/baseline/logistic';
import { compareCodePoints, fitTransformTfidf, transformTfidf } from '../../src/main/engine/baseline/tfidf';
import { joinTextColumns } from '../../src/main/data/mapping';
import { AppError } from '../../src/shared/errors';
import { AG_LABELS } from '../helpers/agnews';
import { DATASETS_DIR } from '../helpers/reference';

// Recorded from scikit-learn 1.2.1 (/usr/bin/python3): CountVectorizer().build_analyzer() for the
// tokens; TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) for the tiny corpus;
// LogisticRegression(C=10, multi_class="multinomial", solver="lbfgs", tol=1e-12, max_iter=100000)
// for the small labelled corpus (predict_proba, intercept_, coef_[:, vocabulary_["good"]]).
const TOKEN_CASES: [string, string[]][] = [
  ["Hello, World! It's a test.", ["hello", "world", "it", "test"]],
  ["e-mail foo_bar 3.14 x2 CO2 __init__ a1 b", ["mail", "foo_bar", "14", "x2", "co2", "__init__", "a1"]],
  ["na\u00efve caf\u00e9 CAF\u00c9", ["naïve", "café", "café"]],
  ["cafe\u0301 re\u0301sume\u0301", ["cafe", "re", "sume"]],
  ["Stra\u00dfe \u0130stanbul \u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3 \u039f\u0394\u039f\u03a3.", ["straße", "stanbul", "σίσυφος", "οδος"]],
  ["\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e", []],
  ["\u5317\u4eac\u6b22\u8fce\u4f60 \u6771\u4eac", ["北京欢迎你", "東京"]],
  ["\u00b2\u00b3 \u00bd \u0661\u0662\u0663 \u216bx", ["²³", "١٢٣", "ⅻx"]],
  ["\ud83d\ude00\ud83d\ude00 ok \ud83d\udc4d\ud83c\udffdfine", ["ok", "fine"]],
  ["\ud835\udc00\ud835\udc01\ud835\udc02 \ud835\udc00", ["𝐀𝐁𝐂"]],
  ["\u01c5emal\tnew\nline\u2019s don\u2019t", ["ǆemal", "new", "line", "don"]],
  ["", []],
  ["   a  I  !", []],
];
const TINY_DOCS = ["the cat sat on the mat", "the dog sat on the log", "cats and dogs", "the the the cat", "Dog eat dog"];
const TINY_VOCABULARY = ["and", "and dogs", "cat", "cat sat", "cats", "cats and", "dog", "dog eat", "dog sat", "dogs", "eat", "eat dog", "log", "mat", "on", "on the", "sat", "sat on", "the", "the cat", "the dog", "the log", "the mat", "the the"];
const TINY_IDF = [2.0986122886681096, 2.0986122886681096, 1.6931471805599454, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096, 1.6931471805599454, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096, 1.6931471805599454, 1.6931471805599454, 1.6931471805599454, 1.6931471805599454, 1.4054651081081644, 1.6931471805599454, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096, 2.0986122886681096];
const TINY_TFIDF = [[0.0, 0.0, 0.2818946461859567, 0.34940114798522837, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.34940114798522837, 0.2818946461859567, 0.2818946461859567, 0.2818946461859567, 0.2818946461859567, 0.39619308937685843, 0.2818946461859567, 0.0, 0.0, 0.34940114798522837, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2760733697002025, 0.0, 0.3421858258271757, 0.0, 0.0, 0.0, 0.3421858258271757, 0.0, 0.2760733697002025, 0.2760733697002025, 0.2760733697002025, 0.2760733697002025, 0.3880114883914803, 0.0, 0.3421858258271757, 0.3421858258271757, 0.0, 0.0], [0.4472135954999579, 0.4472135954999579, 0.0, 0.0, 0.4472135954999579, 0.4472135954999579, 0.0, 0.0, 0.0, 0.4472135954999579, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.32549177396442, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5670189656977573, 0.32549177396442, 0.0, 0.0, 0.0, 0.6830810367021144], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6192565740074268, 0.45332890765557265, 0.0, 0.0, 0.45332890765557265, 0.45332890765557265, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
const TINY_NEW = ["the cat and the unknown dog", "nothing known here"];
const TINY_NEW_TFIDF = [[0.48572749906963825, 0.0, 0.3918818878603514, 0.0, 0.0, 0.0, 0.3918818878603514, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5507763198872803, 0.3918818878603514, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
const LR_DOCS = ["good great fine", "great good movie", "bad awful film", "awful bad bad", "okay average film", "average okay movie", "good film", "bad movie", "okay fine"];
const LR_LABELS = [0, 0, 1, 1, 2, 2, 0, 1, 2];
const LR_PROBE = ["good movie", "awful film okay", "unseen words"];
const LR_PROBA = [[0.7692393133844709, 0.12157770282475824, 0.1091829837907708], [0.14252791010466195, 0.47611008317784365, 0.3813620067174943], [0.3397107469330525, 0.31694628761950405, 0.34334296544744347]];
const LR_INTERCEPTS = [0.019575618572223216, -0.0497865728004622, 0.030210954228227335];
const LR_COEF_GOOD = [1.6661391536115044, -0.7988613058146161, -0.8672778477968879];

/**
 * scikit-learn on AG News train_5k.csv -> test.csv (7,600 rows), measured with
 *   /usr/bin/python3 scripts/sklearn-baseline.py --ag-news ../shared/datasets/ag_news
 * (scikit-learn 1.2.1, converged in 144 L-BFGS iterations; with sklearn's default max_iter=100 it
 * stops unconverged at 87.895 %, macro-F1 0.87838).
 */
const SKLEARN_AG_NEWS = { accuracy: 0.8788157894736842, macroF1: 0.8782438151267944, perClassF1: [0.8866255695523988, 0.9365928189457602, 0.8430493273542602, 0.8467075446547587] };

function hasSklearn(): boolean {
  try {
    return fs.existsSync('/usr/bin/python3') && fs.readdirSync('/usr/lib/python3/dist-packages').includes('sklearn');
  } catch {
    return false;
  }
}

/** Texts as the app prepares AG News: columns 2 and 3 (title, description) joined by one space. */
function agNews(file: string): { texts: string[]; labels: Int32Array } {
  const records = parse(fs.readFileSync(path.join(DATASETS_DIR, 'ag_news', file))) as string[][];
  return {
    texts: records.map((r) => joinTextColumns(r, { textColumns: [1, 2], textSeparator: ' ' })),
    labels: Int32Array.from(records, (r) => Number(r[0]) - 1),
  };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tolerance) throw new Error(`item ${i}: ${actual[i]} differs from ${expected[i]} by more than ${tolerance}`);
  }
}

function dense(matrix: { rows: number; cols: number; rowPtr: Int32Array; indices: Int32Array; values: Float64Array }): number[][] {
  const out = Array.from({ length: matrix.rows }, () => new Array<number>(matrix.cols).fill(0));
  for (let r = 0; r < matrix.rows; r++) for (let p = matrix.rowPtr[r]; p < matrix.rowPtr[r + 1]; p++) out[r][matrix.indices[p]] = matrix.values[p];
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a rejection');
}

describe('tokens and terms', () => {
  it.each(TOKEN_CASES)('%j gives the tokens sklearn finds', (text, tokens) => {
    expect(wordTokens(text)).toEqual(tokens);
  });

  it('makes unigrams then bigrams in sklearn order', () => {
    expect(ngramTerms('The cat sat on the mat, the end.')).toEqual(['the', 'cat', 'sat', 'on', 'the', 'mat', 'the', 'end', 'the cat', 'cat sat', 'sat on', 'on the', 'the mat', 'mat the', 'the end']);
  });

  it('orders the vocabulary by code point as Python does (U+FB00 before U+1D41A, after "z")', async () => {
    expect(compareCodePoints('\ufb00', '\u{1d41a}')).toBeLessThan(0);
    expect('\ufb00' < '\u{1d41a}').toBe(false); // JS's own order differs here
    const { vectorizer } = await fitTransformTfidf(['\ufb00xx \u{1d41a}bb zz']);
    // sklearn: ['zz', 'ﬀxx', 'ﬀxx 𝐚bb', '𝐚bb', '𝐚bb zz']
    expect(vectorizer.terms).toEqual(['zz', '\ufb00xx', '\ufb00xx \u{1d41a}bb', '\u{1d41a}bb', '\u{1d41a}bb zz']);
  });
});

describe('tf-idf', () => {
  it('equals sklearn on a tiny corpus: vocabulary, idf and every value', async () => {
    const { vectorizer, matrix } = await fitTransformTfidf(TINY_DOCS);
    expect(vectorizer.terms).toEqual(TINY_VOCABULARY);
    expectClose(vectorizer.idf, TINY_IDF, 1e-12);
    const values = dense(matrix);
    TINY_TFIDF.forEach((row, r) => expectClose(values[r], row, 1e-12));
  });

  it('computes "Dog eat dog" as worked by hand', async () => {
    // n = 5 documents. "dog" occurs twice here and in one other document: tf 1 + ln 2,
    // idf ln(6/3) + 1; "eat", "dog eat", "eat dog" once each, only here: idf ln(6/2) + 1.
    const { vectorizer, matrix } = await fitTransformTfidf(TINY_DOCS);
    const dog = (1 + Math.log(2)) * (Math.log(6 / 3) + 1);
    const once = Math.log(6 / 2) + 1;
    const norm = Math.sqrt(dog * dog + 3 * once * once);
    const row = dense(matrix)[4];
    expect(row[vectorizer.vocabulary.get('dog')!]).toBeCloseTo(dog / norm, 14);
    expect(row[vectorizer.vocabulary.get('eat dog')!]).toBeCloseTo(once / norm, 14);
    expect(row.filter((v) => v !== 0)).toHaveLength(4);
  });

  it('transforms new texts with the learnt vocabulary, ignoring unknown terms', async () => {
    const { vectorizer } = await fitTransformTfidf(TINY_DOCS);
    const values = dense(await transformTfidf(vectorizer, TINY_NEW));
    TINY_NEW_TFIDF.forEach((row, r) => expectClose(values[r], row, 1e-12));
  });
});

describe('logistic regression', () => {
  it('has the gradient that finite differences give', () => {
    // A random sparse problem: 7 rows, 6 features, 3 classes, random parameters.
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const builder = new CsrBuilder();
    for (let r = 0; r < 7; r++) {
      const row = new Map<number, number>();
      for (let j = 0; j < 6; j++) if (random() < 0.5) row.set(j, random() * 2 - 0.5);
      builder.addRow(row);
    }
    const x = builder.finish(6);
    const problem = { x, y: [0, 1, 2, 1, 0, 2, 2], classes: 3, l2: 0.3 };
    const params = Float64Array.from({ length: parameterCount(6, 3) }, () => random() * 2 - 1);
    const gradient = new Float64Array(params.length);
    softmaxLossGradient(problem, params, gradient);
    const scratch = new Float64Array(params.length);
    const h = 1e-6;
    for (let i = 0; i < params.length; i++) {
      const plus = Float64Array.from(params);
      plus[i] += h;
      const minus = Float64Array.from(params);
      minus[i] -= h;
      const numeric = (softmaxLossGradient(problem, plus, scratch) - softmaxLossGradient(problem, minus, scratch)) / (2 * h);
      expect(Math.abs(numeric - gradient[i])).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
    }
    // The intercepts (the last 3 parameters) are not penalised: their gradient sums to zero over the classes.
    expect(Math.abs(gradient[18] + gradient[19] + gradient[20])).toBeLessThan(1e-12);
  });

  it('L-BFGS finds the minimum of a known quadratic', async () => {
    // f(x) = sum_i (i + 1) (x_i - i)^2 / 2
    const n = 50;
    const result = await minimiseLbfgs((x, g) => {
      let f = 0;
      for (let i = 0; i < n; i++) {
        f += ((i + 1) * (x[i] - i) ** 2) / 2;
        g[i] = (i + 1) * (x[i] - i);
      }
      return f;
    }, new Float64Array(n), { gradientTolerance: 1e-10, relativeTolerance: 0 });
    expect(result.reason).toBe('gradient');
    expectClose(result.x, Array.from({ length: n }, (_, i) => i), 1e-9);
  });

  it('converges to the model sklearn fits: probabilities, intercepts, weights', async () => {
    const model = await trainBaseline({ texts: LR_DOCS, labels: LR_LABELS, labelNames: ['pos', 'neg', 'mid'] }, { gradientTolerance: 1e-9, relativeTolerance: 0 });
    expect(model.fit.converged).toBe(true);
    expect(model.fit.stopReason).toBe('gradient');
    expect(model.fit.gradientMax).toBeLessThanOrEqual(1e-9);
    // sklearn 1.2 leaves scipy's ftol at its default (2.2e-9 relative), so its fit is the less
    // exact of the two: agreement to 1e-6 is what its own stopping rule allows.
    predictBaseline(model, LR_PROBE).forEach((row, r) => expectClose(row, LR_PROBA[r], 1e-6));
    expectClose(model.intercepts, LR_INTERCEPTS, 1e-5);
    const good = model.vectorizer.vocabulary.get('good')!;
    expectClose([0, 1, 2].map((k) => model.weights[good * 3 + k]), LR_COEF_GOOD, 1e-5);
  });

  it('never predicts a class that has no training row', async () => {
    const model = await trainBaseline({ texts: ['red apple', 'green pear', 'red cherry'], labels: [0, 1, 0], labelNames: ['red', 'green', 'blue'] });
    expect(model.absentClasses).toEqual([2]);
    const [row] = predictBaseline(model, ['red pear']);
    expect(row[2]).toBe(0);
    expect(row[0] + row[1]).toBeCloseTo(1, 12);
    const report = await evaluateBaseline(model, ['red apple', 'green pear'], [0, 1]);
    expect(report.accuracy).toBe(1);
    expect(report.perClass.map((c) => c.label)).toEqual(['red', 'green', 'blue']);
  });

  it('keeps L-BFGS history within its memory bound', () => {
    // AG News train_5k: 130,150 features x 4 classes -> 10 pairs (scipy's default) in 512 MB.
    expect(historyFor(parameterCount(130150, 4))).toBe(10);
    // 5 million features x 20 classes: 3 pairs, the fewest kept.
    expect(historyFor(parameterCount(5_000_000, 20))).toBe(3);
    expect(historyFor(1_000_000, 2 * 1_000_000 * 8 * 6)).toBe(6);
  });

  it('refuses labels that do not match the texts', async () => {
    expect((await rejection(trainBaseline({ texts: ['a b', 'c d'], labels: [0] }))).field).toBe('labels');
    expect((await rejection(trainBaseline({ texts: ['a b'], labels: [3], labelNames: ['x', 'y'] }))).code).toBe('invalid_input');
    expect((await rejection(trainBaseline({ texts: [], labels: [] }))).field).toBe('texts');
  });
});

describe('serialise and load', () => {
  it('round-trips through JSON text with the same predictions', async () => {
    const model = await trainBaseline({ texts: LR_DOCS, labels: LR_LABELS, labelNames: ['pos', 'neg', 'mid'] });
    const json = JSON.stringify(serialiseBaseline(model));
    const loaded = loadBaseline(json);
    expect(loaded.labels).toEqual(['pos', 'neg', 'mid']);
    expect(loaded.vectorizer.terms).toEqual(model.vectorizer.terms);
    expect(Array.from(loaded.weights)).toEqual(Array.from(model.weights));
    expect(predictBaseline(loaded, LR_PROBE)).toEqual(predictBaseline(model, LR_PROBE));
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(parsed.weights).toHaveLength(3);
    expect((parsed.weights as number[][])[0]).toHaveLength(model.vectorizer.terms.length);
  });

  it('refuses a file that is not a baseline, naming the field', async () => {
    const model = await trainBaseline({ texts: LR_DOCS, labels: LR_LABELS });
    const good = serialiseBaseline(model);
    const field = (value: unknown): string | undefined => {
      try {
        loadBaseline(value);
      } catch (error) {
        expect(error).toBeInstanceOf(AppError);
        return (error as AppError).field;
      }
      throw new Error('expected loadBaseline to refuse');
    };
    expect(field({ ...good, format: 'other' })).toBe('format');
    expect(field({ ...good, idf: good.idf.slice(1) })).toBe('idf');
    expect(field({ ...good, weights: [good.weights[0]] })).toBe('weights');
    expect(field({ ...good, intercepts: [null, 0, 0] })).toBe('intercepts');
    expect(field({ ...good, vectorizer: { ...good.vectorizer, sublinearTf: false } })).toBe('vectorizer');
    expect(field(42)).toBe('');
  });
});

describe('progress and cancellation', () => {
  const texts = Array.from({ length: 3000 }, (_, i) => `text number ${i % 97} about topic ${i % 5} and word${i % 13}`);
  const labels = Array.from({ length: 3000 }, (_, i) => i % 5);

  it('reports vectorising then fitting progress, ending at the total', async () => {
    const seen: [number, number, string][] = [];
    const model = await trainBaseline({ texts, labels }, { onProgress: (done, total, phase) => seen.push([done, total, phase]) });
    expect(seen[0]).toEqual([0, 3000, 'vectorising']);
    expect(seen.some(([done, , phase]) => phase === 'vectorising' && done === 3000)).toBe(true);
    const fitting = seen.filter(([, , phase]) => phase === 'fitting');
    expect(fitting.length).toBeGreaterThan(2);
    expect(fitting[fitting.length - 1][0]).toBe(fitting[fitting.length - 1][1]);
    expect(model.fit.iterations).toBeGreaterThan(0);
  });

  it.each(['vectorising', 'fitting'])('stops with code cancelled when aborted while %s', async (when) => {
    const controller = new AbortController();
    let after = 0;
    const error = await rejection(
      trainBaseline({ texts, labels }, {
        signal: controller.signal,
        onProgress: (done, _total, phase) => {
          if (phase === when && done > 0) {
            controller.abort();
            after++;
          }
        },
      }),
    );
    expect(error.code).toBe('cancelled');
    // It stopped at the next check: at most one more report after the abort.
    expect(after).toBeLessThanOrEqual(2);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(trainBaseline({ texts, labels }, { signal: controller.signal }))).code).toBe('cancelled');
  });
});

describe('acceptance: AG News train_5k -> test.csv', () => {
  const live = hasSklearn();
  it(`lands within 1 point of scikit-learn's accuracy${live ? ' (and of a live scikit-learn run)' : ''}`, async () => {
    // scikit-learn runs beside our training when Debian's python3-sklearn is there.
    const sklearnRun = live
      ? new Promise<typeof SKLEARN_AG_NEWS>((resolve, reject) => {
          const child = spawn('/usr/bin/python3', [path.resolve(__dirname, '../../scripts/sklearn-baseline.py'), '--ag-news', path.join(DATASETS_DIR, 'ag_news')]);
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('error', reject);
          child.on('close', (code) => {
            if (code !== 0) return reject(new Error(`sklearn-baseline.py failed: ${err}`));
            const r = JSON.parse(out) as { accuracy: number; macroF1: number; perClassF1: Record<string, number> };
            resolve({ accuracy: r.accuracy, macroF1: r.macroF1, perClassF1: ['1', '2', '3', '4'].map((c) => r.perClassF1[c]) });
          });
        })
      : null;
    const train = agNews('train_5k.csv');
    const test = agNews('test.csv');
    const model: BaselineModel = await trainBaseline({ ...train, labelNames: AG_LABELS });
    expect(model.fit.converged).toBe(true);
    expect(model.fit.features).toBe(130150); // sklearn's len(vocabulary_)
    const report = await evaluateBaseline(model, test.texts, test.labels);
    expect(Math.abs(report.accuracy - SKLEARN_AG_NEWS.accuracy)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(report.macroF1 - SKLEARN_AG_NEWS.macroF1)).toBeLessThanOrEqual(0.01);
    report.perClass.forEach((c, k) => expect(Math.abs(c.f1 - SKLEARN_AG_NEWS.perClassF1[k])).toBeLessThanOrEqual(0.02));
    expect(report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(7600);
    if (sklearnRun) {
      const measured = await sklearnRun;
      expect(Math.abs(report.accuracy - measured.accuracy)).toBeLessThanOrEqual(0.01);
      expect(Math.abs(report.macroF1 - measured.macroF1)).toBeLessThanOrEqual(0.01);
    }
  }, HEAVY_TEST_TIMEOUT_MS);
});
