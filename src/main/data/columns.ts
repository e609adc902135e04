/**
 * Column statistics gathered in one streaming pass (bounded memory: distinct values are counted
 * by hash up to a cap, value counts are kept only for short, low-cardinality columns), the
 * inferred column types, and the suggested text and label columns.
 */
import type { ColumnInfo, ColumnType, DatasetMapping } from '../../shared/dataset';
import { isNumeric } from './format';
import { hashText } from './hash';

const DISTINCT_CAP = 100_000;
/** Columns with more distinct values than this cannot be a label column we can show. */
export const VALUE_COUNT_CAP = 20_000;
const VALUE_COUNT_MAX_LENGTH = 200;
const SAMPLE_COUNT = 5;
const SAMPLE_LENGTH = 200;

export class ColumnStats {
  nonEmpty = 0;
  empty = 0;
  numeric = 0;
  totalLength = 0;
  maxLength = 0;
  readonly samples: string[] = [];
  private hashes: Set<number> | null = new Set();
  distinctCapped = false;
  private cappedDistinct = 0;
  /** Trimmed value -> rows, while the column stays short and low-cardinality. */
  valueCounts: Map<string, number> | null = new Map();

  add(raw: string): void {
    const value = raw.trim();
    if (value === '') {
      this.empty++;
      return;
    }
    this.nonEmpty++;
    if (isNumeric(value)) this.numeric++;
    this.totalLength += value.length;
    if (value.length > this.maxLength) this.maxLength = value.length;
    if (this.hashes) {
      const h = hashText(value);
      if (!this.hashes.has(h)) {
        if (this.samples.length < SAMPLE_COUNT) this.samples.push(value.length > SAMPLE_LENGTH ? `${value.slice(0, SAMPLE_LENGTH)}…` : value);
        this.hashes.add(h);
        if (this.hashes.size >= DISTINCT_CAP) {
          this.distinctCapped = true;
          this.cappedDistinct = this.hashes.size;
          this.hashes = null;
        }
      }
    }
    if (this.valueCounts) {
      if (value.length > VALUE_COUNT_MAX_LENGTH) this.valueCounts = null;
      else {
        this.valueCounts.set(value, (this.valueCounts.get(value) ?? 0) + 1);
        if (this.valueCounts.size > VALUE_COUNT_CAP) this.valueCounts = null;
      }
    }
  }

  get distinctCount(): number {
    return this.hashes ? this.hashes.size : this.cappedDistinct;
  }

  get meanLength(): number {
    return this.nonEmpty ? this.totalLength / this.nonEmpty : 0;
  }

  get type(): ColumnType {
    if (this.nonEmpty === 0) return 'empty';
    if (this.numeric === this.nonEmpty) return 'number';
    if (this.valueCounts && this.meanLength <= 40 && this.distinctCount <= Math.max(2, 0.5 * this.nonEmpty)) return 'category';
    return 'text';
  }

  info(index: number, name: string): ColumnInfo {
    return {
      index,
      name,
      type: this.type,
      sampleValues: [...this.samples],
      distinctCount: this.distinctCount,
      distinctCountCapped: this.distinctCapped,
      emptyCount: this.empty,
      meanLength: Math.round(this.meanLength * 10) / 10,
      maxLength: this.maxLength,
    };
  }
}

const LABEL_NAME_RE = /^(labels?|class(es)?|category|categories|target|y|sentiment|intent|tags?|topic|emotion|polarity|rating|stars|genre|label[ _-]?(name|id)|class[ _-]?(name|id))$/i;
const TEXT_NAME_RE = /(text|sentence|review|content|description|body|title|message|comment|question|document|tweet|headline|abstract|summary|utterance|query|question|answer|subject|post)/i;

export interface ColumnSuggestion {
  mapping: Pick<DatasetMapping, 'textColumns' | 'labelColumn' | 'textSeparator'> | null;
  /** Why no mapping could be suggested. */
  problem: string | null;
}

/**
 * Whether the column could hold labels: few distinct, short, whole numbers or categories. A
 * column named like a label may hold a single value (then the doctor says one class is not enough).
 */
export function couldBeLabelColumn(stats: ColumnStats, namedLikeLabel = false): boolean {
  if (!stats.valueCounts || stats.nonEmpty === 0 || stats.distinctCount < (namedLikeLabel ? 1 : 2)) return false;
  if (stats.distinctCount > Math.max(2, 0.5 * stats.nonEmpty)) return false;
  if (stats.meanLength > 40) return false;
  return stats.type === 'category' || stats.type === 'number';
}

/** Suggests the label column and the text column(s) to join. */
export function suggestColumns(
  names: readonly string[],
  stats: readonly ColumnStats[],
  format: 'delimited' | 'label-first' | 'jsonl',
): ColumnSuggestion {
  if (format === 'label-first') return { mapping: { textColumns: [1], labelColumn: 0, textSeparator: ' ' }, problem: null };
  if (names.length < 2) {
    return { mapping: null, problem: 'The file has only one column. A training file needs a text column and a label column.' };
  }
  const labelCandidates = stats
    .map((s, index) => ({ s, index }))
    .filter(({ s, index }) => couldBeLabelColumn(s, LABEL_NAME_RE.test(names[index]!.trim())))
    .sort((a, b) => {
      const hint = Number(LABEL_NAME_RE.test(names[b.index]!.trim())) - Number(LABEL_NAME_RE.test(names[a.index]!.trim()));
      if (hint !== 0) return hint;
      return a.s.distinctCount - b.s.distinctCount || a.index - b.index;
    });
  // A column with one short value on every row is the label of a one-label file (the doctor then
  // says a classifier needs two), rather than no label at all.
  const label =
    labelCandidates[0] ??
    stats
      .map((s, index) => ({ s, index }))
      .find(({ s }) => s.valueCounts !== null && s.distinctCount === 1 && s.nonEmpty >= 2 && s.empty === 0 && s.meanLength <= 40 && s.type !== 'number');
  const textual = stats
    .map((s, index) => ({ s, index }))
    .filter(({ s, index }) => index !== label?.index && s.type !== 'empty' && s.type !== 'number');
  let textColumns = textual
    .filter(({ s, index }) => s.type === 'text' && (s.meanLength >= 15 || TEXT_NAME_RE.test(names[index]!)))
    .map(({ index }) => index);
  if (textColumns.length === 0) {
    const longest = [...textual].sort((a, b) => b.s.meanLength - a.s.meanLength)[0];
    if (longest && longest.s.type === 'text') textColumns = [longest.index];
  }
  if (textColumns.length === 0) {
    // Short texts over a small vocabulary repeat and look like categories; a header naming the
    // column as text settles it.
    const named = textual.find(({ index }) => TEXT_NAME_RE.test(names[index]!) && !LABEL_NAME_RE.test(names[index]!.trim()));
    if (named) textColumns = [named.index];
  }
  if (!label && textColumns.length === 0) {
    return { mapping: null, problem: 'No column looks like text or like a label. Choose the text and label columns yourself.' };
  }
  if (!label) {
    return {
      mapping: null,
      problem: 'No column looks like a label (a column with a few repeated values). Choose the label column yourself.',
    };
  }
  if (textColumns.length === 0) {
    return {
      mapping: null,
      problem: stats.every((s, i) => i === label.index || s.type === 'empty')
        ? 'Every column other than the label is empty: there is no text to learn from.'
        : 'No column looks like text. Choose the text column yourself.',
    };
  }
  return { mapping: { textColumns, labelColumn: label.index, textSeparator: ' ' }, problem: null };
}
