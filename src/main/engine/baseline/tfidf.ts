/**
 * TF-IDF features equal to scikit-learn's TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
 * with its other defaults: lowercase, token_pattern r"(?u)\b\w\w+\b", no accent stripping, no
 * stop words, smooth_idf, norm='l2', min_df=1, float64.
 *
 * Python's Unicode `\w` is exactly "a letter (L*), a number (N*) or an underscore" (checked over
 * every code point of Python's Unicode 14 tables), so a token is a maximal run of at least two
 * such code points; combining marks (Mn/Mc) are not word characters and split a word, as in Python.
 */
import { CsrBuilder, type CsrMatrix } from './csr';

/** The vectoriser's settings, written into the serialised model so a reader knows what it gets. */
export const TFIDF_SETTINGS = {
  lowercase: true,
  tokenPattern: String.raw`(?u)\b\w\w+\b`,
  ngramRange: [1, 2] as [number, number],
  sublinearTf: true,
  smoothIdf: true,
  norm: 'l2' as const,
};

const WORD_RUN = /[\p{L}\p{N}_]{2,}/gu;

/** The words of a text as sklearn's default preprocessor + tokenizer find them. */
export function wordTokens(text: string): string[] {
  return text.toLowerCase().match(WORD_RUN) ?? [];
}

/** Unigrams then bigrams (joined by one space), in sklearn's _word_ngrams order. */
export function ngramTerms(text: string): string[] {
  const words = wordTokens(text);
  const terms = words.slice();
  for (let i = 0; i + 1 < words.length; i++) terms.push(`${words[i]} ${words[i + 1]}`);
  return terms;
}

/** Orders strings by code point, as Python sorts str (JS's default compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800-DFFF) stand for code points above U+FFFF: move them above U+E000-FFFF.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

export interface TfidfVectorizer {
  /** Feature names in feature order (sklearn's get_feature_names_out: sorted by code point). */
  terms: string[];
  vocabulary: Map<string, number>;
  /** ln((1 + n) / (1 + df)) + 1 per feature. */
  idf: Float64Array;
}

export interface VectoriseOptions {
  /** Called every `progressEvery` rows with (rows done, rows). */
  onRows?: (done: number, total: number) => void | Promise<void>;
  progressEvery?: number;
}

/** Sublinear tf times idf, then each row scaled to unit L2 norm (all-zero rows stay zero). */
function weightRows(matrix: CsrMatrix, idf: Float64Array): void {
  const { rowPtr, indices, values } = matrix;
  for (let r = 0; r < matrix.rows; r++) {
    let norm = 0;
    for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) {
      const v = (1 + Math.log(values[p])) * idf[indices[p]];
      values[p] = v;
      norm += v * v;
    }
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) values[p] *= scale;
    }
  }
}

/** Learns the vocabulary and idf from the training texts and returns their tf-idf rows. */
export async function fitTransformTfidf(texts: readonly string[], options: VectoriseOptions = {}): Promise<{ vectorizer: TfidfVectorizer; matrix: CsrMatrix }> {
  const every = options.progressEvery ?? 2000;
  const firstSeen = new Map<string, number>();
  const termsInOrder: string[] = [];
  const builder = new CsrBuilder();
  const counts = new Map<number, number>();
  for (let r = 0; r < texts.length; r++) {
    counts.clear();
    for (const term of ngramTerms(texts[r])) {
      let j = firstSeen.get(term);
      if (j === undefined) {
        j = termsInOrder.length;
        firstSeen.set(term, j);
        termsInOrder.push(term);
      }
      counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    builder.addRow(counts);
    if (options.onRows && (r + 1) % every === 0) await options.onRows(r + 1, texts.length);
  }
  const matrix = builder.finish(termsInOrder.length);

  // sklearn sorts the vocabulary and renumbers the columns.
  const order = termsInOrder.map((_, i) => i).sort((a, b) => compareCodePoints(termsInOrder[a], termsInOrder[b]));
  const newIndex = new Int32Array(order.length);
  const terms = new Array<string>(order.length);
  const vocabulary = new Map<string, number>();
  order.forEach((old, j) => {
    newIndex[old] = j;
    terms[j] = termsInOrder[old];
    vocabulary.set(termsInOrder[old], j);
  });
  firstSeen.clear();
  const df = new Float64Array(order.length);
  for (let p = 0; p < matrix.indices.length; p++) {
    const j = newIndex[matrix.indices[p]];
    matrix.indices[p] = j;
    df[j]++;
  }
  const n = texts.length;
  const idf = new Float64Array(order.length);
  for (let j = 0; j < idf.length; j++) idf[j] = Math.log((1 + n) / (1 + df[j])) + 1;
  weightRows(matrix, idf);
  if (options.onRows) await options.onRows(texts.length, texts.length);
  return { vectorizer: { terms, vocabulary, idf }, matrix };
}

function addKnownTermRows(vectorizer: TfidfVectorizer, texts: readonly string[], from: number, to: number, builder: CsrBuilder): void {
  const counts = new Map<number, number>();
  for (let r = from; r < to; r++) {
    counts.clear();
    for (const term of ngramTerms(texts[r])) {
      const j = vectorizer.vocabulary.get(term);
      if (j !== undefined) counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    builder.addRow(counts);
  }
}

/** Tf-idf rows of new texts; terms outside the vocabulary are ignored (as sklearn's transform does). */
export async function transformTfidf(vectorizer: TfidfVectorizer, texts: readonly string[], options: VectoriseOptions = {}): Promise<CsrMatrix> {
  const every = options.progressEvery ?? 2000;
  const builder = new CsrBuilder();
  for (let from = 0; from < texts.length; from += every) {
    const to = Math.min(texts.length, from + every);
    addKnownTermRows(vectorizer, texts, from, to, builder);
    if (options.onRows) await options.onRows(to, texts.length);
  }
  const matrix = builder.finish(vectorizer.terms.length);
  weightRows(matrix, vectorizer.idf);
  return matrix;
}

/** The same, synchronously (prediction of a few texts). */
export function transformTfidfSync(vectorizer: TfidfVectorizer, texts: readonly string[]): CsrMatrix {
  const builder = new CsrBuilder();
  addKnownTermRows(vectorizer, texts, 0, texts.length, builder);
  const matrix = builder.finish(vectorizer.terms.length);
  weightRows(matrix, vectorizer.idf);
  return matrix;
}
