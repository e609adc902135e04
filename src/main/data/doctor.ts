/**
 * The data doctor: what is wrong with a dataset before an hour is spent training on it. Class
 * balance with suggested class weights, exact and conflicting duplicates, train/eval leakage,
 * empty texts and missing labels (with row numbers), small classes, and, given the model's
 * tokenizer, a token-length histogram with the share truncated at max length. Blocking problems
 * (no rows, one class, no text) stop training; warnings let the user go on.
 *
 * Rows are examined in one streaming pass: memory grows with the number of distinct texts (a
 * hash per text), not with their size, and token lengths are measured on a seeded sample.
 */
import path from 'node:path';
import type {
  ClassBalance,
  DatasetMapping,
  DoctorFinding,
  DoctorOptions,
  DoctorReport,
  DoctorSource,
  SkippedRows,
  SplitSpec,
  TokenLengthBin,
  TokenLengthReport,
} from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { firstInvalidUtf8InFile, invalidUtf8Note } from './encoding';
import { resolveFormat } from './format';
import { hashText, seededRandom } from './hash';
import { describeVariants, LabelNormaliser } from './labels';
import { mappingForSecondFile, readMappedRows } from './mapping';
import { loadPreparedDataset } from './prepare';
import { ProgressReporter, throwIfCancelled, type LongTaskOptions } from './progress';

const ROW_LIST_LIMIT = 50;
export const DEFAULT_MAX_LENGTH = 128;
export const DEFAULT_MIN_CLASS_SIZE = 10;
const DEFAULT_TOKEN_SAMPLE = 10_000;
const TOKEN_BATCH = 500;
/** Largest / smallest class at or above this counts as imbalanced. */
export const IMBALANCE_RATIO = 1.5;

export type Side = 'train' | 'eval';

/** A row as the doctor sees it: the label may be missing, the line says where it is. */
export interface DoctorRow {
  text: string;
  /** Raw label (names applied by the accumulator); null or '' when missing. */
  label: string | null;
  /** 1-based line in the source file, or row number in a prepared dataset. */
  line?: number;
}

/** Counts rows with their first row numbers. */
class RowList {
  count = 0;
  readonly rows: number[] = [];
  add(line: number): void {
    this.count++;
    if (this.rows.length < ROW_LIST_LIMIT) this.rows.push(line);
  }
}

/** What we remember about one distinct text. */
interface TextEntry {
  label: number;
  sides: number;
  conflict: boolean;
}

export interface DoctorRunOptions extends DoctorOptions, LongTaskOptions {
  /** Token lengths (special tokens included) of texts; without it there is no histogram. */
  countTokens?: (texts: string[]) => Promise<number[]> | number[];
  /** Rows measured for the histogram at most (a seeded sample beyond that). */
  tokenSampleSize?: number;
  /** The split that prepare will make, to check every class can be on both sides. */
  split?: SplitSpec;
}

export class DoctorAccumulator {
  private readonly normaliser: LabelNormaliser;
  private readonly texts = new Map<number, TextEntry>();
  /** provisional label -> rows, per side. */
  private readonly counts: Record<Side, number[]> = { train: [], eval: [] };
  readonly rowsSeen: Record<Side, number> = { train: 0, eval: 0 };
  private readonly usable: Record<Side, number> = { train: 0, eval: 0 };
  private readonly emptyTexts: Record<Side, RowList> = { train: new RowList(), eval: new RowList() };
  private readonly missingLabels: Record<Side, RowList> = { train: new RowList(), eval: new RowList() };
  private readonly duplicates: Record<Side, RowList> = { train: new RowList(), eval: new RowList() };
  private readonly conflictRows: Record<Side, RowList> = { train: new RowList(), eval: new RowList() };
  private conflictTexts = 0;
  private readonly leaked = new RowList();
  private readonly sample: string[] = [];
  private sampled = 0;
  private readonly random: () => number;
  private readonly skipped: Partial<Record<Side, { file: string; rows: SkippedRows }>> = {};
  private readonly notes: string[] = [];
  hasEval = false;

  constructor(
    labelNames: Readonly<Record<string, string>> | undefined,
    private readonly sampleSize = DEFAULT_TOKEN_SAMPLE,
    seed = 42,
    labelOrder?: readonly string[],
  ) {
    this.normaliser = new LabelNormaliser(labelNames, labelOrder);
    this.random = seededRandom(seed);
  }

  addSkipped(side: Side, file: string, rows: SkippedRows): void {
    this.skipped[side] = { file, rows };
  }

  addNote(note: string): void {
    this.notes.push(note);
  }

  add(side: Side, row: DoctorRow): void {
    if (side === 'eval') this.hasEval = true;
    const n = ++this.rowsSeen[side];
    const line = row.line ?? n;
    const text = row.text.trim();
    if (text === '') {
      this.emptyTexts[side].add(line);
      return;
    }
    const label = this.normaliser.add(row.label ?? '', line, side);
    if (label < 0) {
      this.missingLabels[side].add(line);
      return;
    }
    this.usable[side]++;
    const counts = this.counts[side];
    while (counts.length <= label) counts.push(0);
    counts[label]!++;

    const sideBit = side === 'train' ? 1 : 2;
    const h = hashText(text);
    const entry = this.texts.get(h);
    if (!entry) this.texts.set(h, { label, sides: sideBit, conflict: false });
    else {
      if (entry.label !== label) {
        if (!entry.conflict) this.conflictTexts++;
        entry.conflict = true;
        this.conflictRows[side].add(line);
      } else if (entry.sides & sideBit) this.duplicates[side].add(line);
      if (side === 'eval' && entry.sides & 1) this.leaked.add(line);
      entry.sides |= sideBit;
    }

    // Reservoir sample of texts for the token lengths (deterministic: seeded).
    this.sampled++;
    if (this.sample.length < this.sampleSize) this.sample.push(text);
    else {
      const j = Math.floor(this.random() * this.sampled);
      if (j < this.sampleSize) this.sample[j] = text;
    }
  }

  async finish(options: DoctorRunOptions = {}): Promise<DoctorReport> {
    const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
    const minClassSize = options.minClassSize ?? DEFAULT_MIN_CLASS_SIZE;
    const findings: DoctorFinding[] = [];
    const finished = this.normaliser.finish();
    const labels = finished.labels;
    const trainCounts = labels.map(() => 0);
    const evalCounts = labels.map(() => 0);
    finished.finalIndex.forEach((finalIndex, provisional) => {
      if (finalIndex < 0) return;
      trainCounts[finalIndex] = this.counts.train[provisional] ?? 0;
      evalCounts[finalIndex] = this.counts.eval[provisional] ?? 0;
    });
    const ratioSplit = options.split?.kind === 'ratio' && !this.hasEval ? options.split : null;
    if (ratioSplit) {
      // What the stratified split will make of each class.
      trainCounts.forEach((n, c) => {
        const take = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * ratioSplit.evalRatio)));
        trainCounts[c] = n - take;
        evalCounts[c] = take;
      });
    }
    const trainCount = trainCounts.reduce((a, b) => a + b, 0);
    const evalCount = evalCounts.reduce((a, b) => a + b, 0);
    const pct = (n: number, of: number): string => `${of ? ((100 * n) / of).toFixed(n / of < 0.01 ? 2 : 1) : '0'} %`;
    const rowsOf = (list: RowList, side: Side): Pick<DoctorFinding, 'affected' | 'rows' | 'rowsIn'> => ({
      affected: list.count,
      rows: [...list.rows],
      rowsIn: side,
    });
    const bothSides = (what: Record<Side, RowList>): Side[] => (['train', 'eval'] as Side[]).filter((s) => what[s].count > 0);

    // Blocking problems first.
    const allEmpty = this.rowsSeen.train > 0 && this.emptyTexts.train.count === this.rowsSeen.train;
    if (allEmpty) {
      findings.push({
        id: 'no-text-column',
        severity: 'blocking',
        title: 'There is no text to learn from',
        detail: `Every one of the ${this.rowsSeen.train.toLocaleString('en-US')} rows has an empty text. Choose the column that holds the texts (several can be joined).`,
        affected: this.rowsSeen.train,
        fix: { kind: 'edit-file', label: 'Choose the text column' },
      });
    } else if (this.usable.train === 0) {
      findings.push({
        id: 'no-rows',
        severity: 'blocking',
        title: 'No usable rows',
        detail:
          this.rowsSeen.train === 0
            ? 'The file has no data rows. Choose a file with one example per row (a text and its label).'
            : `None of the ${this.rowsSeen.train.toLocaleString('en-US')} rows has both a text and a label. Check the text and label columns.`,
        affected: this.rowsSeen.train,
        fix: { kind: 'edit-file', label: 'Choose other columns or another file' },
      });
    }
    if (this.usable.train > 0 && labels.filter((_, c) => trainCounts[c]! + evalCounts[c]! > 0).length < 2) {
      findings.push({
        id: 'one-class',
        severity: 'blocking',
        title: 'Only one label',
        detail: `Every row has the label "${labels[0] ?? ''}". A classifier learns to tell labels apart, so it needs at least two. Check that the label column is the right one, or add rows of the other classes.`,
        affected: this.usable.train,
        fix: { kind: 'edit-file', label: 'Choose the label column' },
      });
    }
    if (this.hasEval && this.usable.eval === 0) {
      findings.push({
        id: 'no-eval-rows',
        severity: 'blocking',
        title: 'The evaluation file has no usable rows',
        detail: 'None of its rows has both a text and a label. Check its columns, or split the training file instead.',
        affected: this.rowsSeen.eval,
        fix: { kind: 'split-ratio', label: 'Split the training file instead' },
      });
    }
    if (finished.evalOnly.length > 0 && this.hasEval) {
      const first = finished.evalOnly[0]!;
      findings.push({
        id: 'eval-only-labels',
        severity: 'blocking',
        title: 'Labels that occur only in the evaluation rows',
        detail: `${finished.evalOnly.map((e) => `"${e.label}"`).slice(0, 10).join(', ')} never occur in the training rows (the first at evaluation line ${first.line}). A model cannot predict a label it never saw: fix the labels or add training rows for them.`,
        affected: finished.evalOnly.length,
        rows: finished.evalOnly.slice(0, ROW_LIST_LIMIT).map((e) => e.line),
        rowsIn: 'eval',
        fix: { kind: 'edit-file', label: 'Fix the evaluation labels' },
      });
    }
    if (ratioSplit) {
      const single = labels.filter((_, c) => trainCounts[c]! + evalCounts[c]! < 2);
      if (single.length > 0) {
        findings.push({
          id: 'small-classes',
          severity: 'blocking',
          title: 'Labels with a single row',
          detail: `${single.slice(0, 10).map((l) => `"${l}"`).join(', ')}${single.length > 10 ? ', ...' : ''} ${single.length === 1 ? 'has' : 'have'} one row, so the split cannot put ${single.length === 1 ? 'it' : 'them'} on both the training and the evaluation side. Add rows, remove ${single.length === 1 ? 'that label' : 'those labels'}, or give a separate evaluation file.`,
          affected: single.length,
          fix: { kind: 'edit-file', label: 'Add rows or give an evaluation file' },
        });
      }
    }

    // Warnings.
    for (const side of ['train', 'eval'] as Side[]) {
      const skipped = this.skipped[side];
      if (skipped && skipped.rows.count > 0) {
        findings.push({
          id: 'skipped-rows',
          severity: 'warning',
          title: `Rows that could not be read (${path.basename(skipped.file)})`,
          detail: `${skipped.rows.count.toLocaleString('en-US')} row${skipped.rows.count === 1 ? '' : 's'} could not be read and will be left out. ${skipped.rows.rows
            .slice(0, 3)
            .map((r) => `Line ${r.line}: ${r.reason}`)
            .join(' ')}`,
          affected: skipped.rows.count,
          rows: skipped.rows.rows.slice(0, ROW_LIST_LIMIT).map((r) => r.line),
          rowsIn: side,
          fix: { kind: 'edit-file', label: 'Fix those lines in the file' },
        });
      }
    }
    if (!allEmpty) {
      for (const side of bothSides(this.emptyTexts)) {
        const list = this.emptyTexts[side];
        findings.push({
          id: 'empty-texts',
          severity: 'warning',
          title: `Empty texts${side === 'eval' ? ' (evaluation)' : ''}`,
          detail: `${list.count.toLocaleString('en-US')} row${list.count === 1 ? ' has' : 's have'} no text (${pct(list.count, this.rowsSeen[side])}) and will be left out.`,
          ...rowsOf(list, side),
        });
      }
    }
    for (const side of bothSides(this.missingLabels)) {
      const list = this.missingLabels[side];
      findings.push({
        id: 'missing-labels',
        severity: 'warning',
        title: `Missing labels${side === 'eval' ? ' (evaluation)' : ''}`,
        detail: `${list.count.toLocaleString('en-US')} row${list.count === 1 ? ' has' : 's have'} a text but no label (${pct(list.count, this.rowsSeen[side])}) and will be left out. Label them if you can: unlabeled rows teach nothing.`,
        ...rowsOf(list, side),
      });
    }
    if (finished.variants.length > 0) {
      findings.push({
        id: 'label-variants',
        severity: 'info',
        title: 'Label spellings merged',
        detail: `${describeVariants(finished.variants, 5).join(' ')} Labels are compared without surrounding spaces and without case.`,
        affected: finished.variants.reduce((a, v) => a + v.count, 0),
      });
    }
    if (this.conflictTexts > 0) {
      const side: Side = this.conflictRows.train.count > 0 ? 'train' : 'eval';
      const rows = this.conflictRows.train.count + this.conflictRows.eval.count;
      findings.push({
        id: 'conflicting-duplicates',
        severity: 'warning',
        title: 'Same text, different labels',
        detail: `${this.conflictTexts.toLocaleString('en-US')} text${this.conflictTexts === 1 ? ' appears' : 's appear'} with more than one label (${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'} after the first). The model is told two different answers for the same input; fix the labels, or drop these rows.`,
        affected: rows,
        rows: this.conflictRows[side].rows.slice(),
        rowsIn: side,
        fix: { kind: 'drop-conflicting', label: 'Drop rows with conflicting labels' },
      });
    }
    for (const side of bothSides(this.duplicates)) {
      const list = this.duplicates[side];
      const share = list.count / Math.max(1, this.rowsSeen[side]);
      findings.push({
        id: 'duplicates',
        severity: share >= 0.05 ? 'warning' : 'info',
        title: `Duplicate rows${side === 'eval' ? ' (evaluation)' : ''}`,
        detail: `${list.count.toLocaleString('en-US')} row${list.count === 1 ? ' repeats' : 's repeat'} the text and label of an earlier row (${pct(list.count, this.rowsSeen[side])}). Repeats weigh more in training${side === 'eval' ? ' and in the scores' : ''}; dropping them is usually right.`,
        ...rowsOf(list, side),
        fix: { kind: 'drop-duplicates', label: 'Keep one of each duplicate' },
      });
    }
    if (this.leaked.count > 0) {
      findings.push({
        id: 'leakage',
        severity: 'warning',
        title: 'Evaluation texts also in the training rows',
        detail: `${this.leaked.count.toLocaleString('en-US')} evaluation row${this.leaked.count === 1 ? '' : 's'} (${pct(this.leaked.count, this.rowsSeen.eval)}) also appear${this.leaked.count === 1 ? 's' : ''} among the training rows, so the evaluation overstates how well the model does on new texts.`,
        ...rowsOf(this.leaked, 'eval'),
        fix: { kind: 'drop-leaked', label: 'Drop those evaluation rows' },
      });
    }
    if (this.usable.train > 0) {
      const small = labels.filter((_, c) => trainCounts[c]! > 0 && trainCounts[c]! < minClassSize && (!ratioSplit || trainCounts[c]! + evalCounts[c]! >= 2));
      if (small.length > 0) {
        findings.push({
          id: 'small-classes',
          severity: 'warning',
          title: `Classes with fewer than ${minClassSize} training rows`,
          detail: `${small.length.toLocaleString('en-US')} label${small.length === 1 ? '' : 's'} (${small.slice(0, 10).map((l) => `"${l}"`).join(', ')}${small.length > 10 ? ', ...' : ''}) ${small.length === 1 ? 'has' : 'have'} fewer than ${minClassSize} training rows; the model will rarely predict ${small.length === 1 ? 'it' : 'them'} well. Add examples or merge rare labels.`,
          affected: small.length,
          fix: { kind: 'edit-file', label: 'Add examples of rare labels' },
        });
      }
      if (evalCount > 0) {
        const missing = labels.filter((_, c) => trainCounts[c]! > 0 && evalCounts[c] === 0);
        if (missing.length > 0 && !ratioSplit) {
          findings.push({
            id: 'eval-missing-classes',
            severity: 'warning',
            title: 'Classes missing from the evaluation rows',
            detail: `${missing.slice(0, 10).map((l) => `"${l}"`).join(', ')}${missing.length > 10 ? ', ...' : ''} ${missing.length === 1 ? 'has' : 'have'} no evaluation rows, so ${missing.length === 1 ? 'its' : 'their'} scores cannot be measured.`,
            affected: missing.length,
            fix: { kind: 'split-ratio', label: 'Split the training file instead' },
          });
        }
      }
    }

    const classBalance = balanceOf(labels, trainCounts, evalCounts);
    if (classBalance.imbalanced && labels.length >= 2) {
      const sorted = classBalance.classes.filter((c) => c.train > 0).sort((a, b) => b.train - a.train);
      const big = sorted[0]!;
      const little = sorted[sorted.length - 1]!;
      findings.push({
        id: 'imbalance',
        severity: classBalance.imbalanceRatio >= 3 ? 'warning' : 'info',
        title: 'Imbalanced classes',
        detail: `"${big.label}" has ${big.train.toLocaleString('en-US')} training rows and "${little.label}" only ${little.train.toLocaleString('en-US')} (${classBalance.imbalanceRatio.toFixed(1)} to 1). The model will lean towards the large classes; a class-weighted loss (weights n / (classes x count)) evens this out, and macro F1 is the fairer score.`,
        affected: 0,
        fix: { kind: 'class-weights', label: 'Use class weights' },
      });
    }

    let tokenLengths: TokenLengthReport | null = null;
    if (options.countTokens && this.sample.length > 0) {
      tokenLengths = await this.measureTokens(options.countTokens, maxLength, options);
      if (tokenLengths.truncatedCount > 0) {
        const suggested = Math.min(512, Math.max(maxLength, nextMultiple(tokenLengths.p99, 32)));
        findings.push({
          id: 'truncation',
          severity: tokenLengths.truncatedShare >= 0.05 ? 'warning' : 'info',
          title: `Texts longer than ${maxLength} tokens`,
          detail: `${pct(tokenLengths.truncatedCount, tokenLengths.measured)} of the rows${tokenLengths.measured < tokenLengths.total ? ` (measured on ${tokenLengths.measured.toLocaleString('en-US')} of ${tokenLengths.total.toLocaleString('en-US')})` : ''} are longer than ${maxLength} tokens and will be cut; the longest has ${tokenLengths.max.toLocaleString('en-US')}. ${suggested > maxLength ? `A max length of ${suggested} keeps 99 % of them whole, at the cost of slower training.` : 'The cut part is usually less important.'}`,
          affected: tokenLengths.truncatedCount,
          fix: suggested > maxLength ? { kind: 'max-length', label: `Use max length ${suggested}` } : undefined,
        });
      }
    }
    for (const note of this.notes) {
      findings.push({ id: 'encoding', severity: 'info', title: 'Encoding', detail: note, affected: 0 });
    }
    const order = { blocking: 0, warning: 1, info: 2 } as const;
    findings.sort((a, b) => order[a.severity] - order[b.severity]);
    return {
      trainCount,
      evalCount,
      blocking: findings.some((f) => f.severity === 'blocking'),
      findings: findings.map((f) => (f.fix === undefined ? withoutUndefined(f) : f)),
      classBalance,
      tokenLengths,
    };
  }

  private async measureTokens(
    countTokens: NonNullable<DoctorRunOptions['countTokens']>,
    maxLength: number,
    options: LongTaskOptions,
  ): Promise<TokenLengthReport> {
    const lengths: number[] = [];
    const progress = new ProgressReporter('measuring token lengths', this.sample.length, 'rows', options.onProgress);
    for (let i = 0; i < this.sample.length; i += TOKEN_BATCH) {
      throwIfCancelled(options.signal, 'The data doctor');
      const batch = this.sample.slice(i, i + TOKEN_BATCH);
      const counted = await countTokens(batch);
      if (counted.length !== batch.length) throw new AppError('internal', `the tokenizer returned ${counted.length} lengths for ${batch.length} texts`);
      lengths.push(...counted);
      progress.update(lengths.length);
    }
    progress.finish(lengths.length);
    return tokenLengthReport(lengths, maxLength, this.sampled);
  }
}

function withoutUndefined(f: DoctorFinding): DoctorFinding {
  const { fix: _fix, ...rest } = f;
  return rest;
}

function nextMultiple(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}

/** Class balance with sklearn's 'balanced' weights n / (k * count) over the training rows. */
export function balanceOf(labels: readonly string[], train: readonly number[], evalCounts: readonly number[]): ClassBalance {
  const n = train.reduce((a, b) => a + b, 0);
  const present = train.filter((c) => c > 0);
  const k = present.length;
  const classes = labels.map((label, c) => ({
    label,
    train: train[c]!,
    eval: evalCounts[c] ?? 0,
    share: n ? train[c]! / n : 0,
    weight: train[c]! > 0 ? n / (k * train[c]!) : 0,
  }));
  const ratio = present.length ? Math.max(...present) / Math.min(...present) : 1;
  const imbalanced = k >= 2 && ratio >= IMBALANCE_RATIO;
  return {
    classes,
    imbalanceRatio: ratio,
    imbalanced,
    suggestedClassWeights: imbalanced ? classes.map((c) => c.weight) : null,
  };
}

/** Histogram and summary of token lengths: 16 bins of maxLength/8 tokens, then one open bin. */
export function tokenLengthReport(lengths: readonly number[], maxLength: number, total: number): TokenLengthReport {
  const width = Math.max(1, Math.ceil(maxLength / 8));
  const binCount = 16;
  const bins: TokenLengthBin[] = [];
  for (let b = 0; b < binCount; b++) bins.push({ from: b * width, to: (b + 1) * width, count: 0 });
  bins.push({ from: binCount * width, to: null, count: 0 });
  let truncated = 0;
  let sum = 0;
  for (const len of lengths) {
    const b = Math.min(binCount, Math.floor(len / width));
    bins[b]!.count++;
    if (len > maxLength) truncated++;
    sum += len;
  }
  const sorted = [...lengths].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
  return {
    maxLength,
    measured: lengths.length,
    total,
    bins,
    truncatedCount: truncated,
    truncatedShare: lengths.length ? truncated / lengths.length : 0,
    mean: lengths.length ? sum / lengths.length : 0,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
  };
}

/** What the doctor examines: rows in memory, a source file with a mapping, or a prepared dataset. */
export type DoctorInput =
  | {
      kind: 'rows';
      train: Iterable<DoctorRow>;
      eval?: Iterable<DoctorRow>;
      labelNames?: Record<string, string>;
      /** Keep this label order in the class balance (e.g. a prepared dataset's labels). */
      labelOrder?: string[];
    }
  | DoctorSource;

export interface DoctorDatasetOptions extends DoctorRunOptions {
  /** Needed for { kind: 'prepared' }. */
  dataDir?: string;
}

async function readFileInto(
  acc: DoctorAccumulator,
  side: Side,
  file: string,
  mapping: DatasetMapping,
  options: LongTaskOptions,
): Promise<Awaited<ReturnType<typeof readMappedRows>>> {
  const format = await resolveFormat(file, mapping.parse ?? {});
  const result = await readMappedRows(format, mapping, (row) => acc.add(side, row), {
    ...options,
    phase: side === 'train' ? 'reading' : 'reading evaluation file',
    field: side === 'train' ? 'mapping' : 'split.evalMapping',
    reset: () => {
      throw new AppError('internal', 'restart after the doctor started counting');
    },
  });
  acc.addSkipped(side, result.format.file, result.summary.skipped);
  if (result.format.encodingNote) acc.addNote(`${path.basename(file)}: ${result.format.encodingNote}`);
  return result;
}

/** Runs the data doctor. */
export async function doctorDataset(input: DoctorInput, options: DoctorDatasetOptions = {}): Promise<DoctorReport> {
  if (input.kind === 'rows') {
    const acc = new DoctorAccumulator(input.labelNames, options.tokenSampleSize, 42, input.labelOrder);
    for (const row of input.train) acc.add('train', row);
    if (input.eval) for (const row of input.eval) acc.add('eval', row);
    return acc.finish(options);
  }
  if (input.kind === 'prepared') {
    if (!options.dataDir) throw new AppError('internal', 'doctorDataset needs the data folder for a prepared dataset');
    const { meta, train, eval: evalRows } = await loadPreparedDataset(options.dataDir, input.id);
    const acc = new DoctorAccumulator(undefined, options.tokenSampleSize, 42, meta.labels);
    train.forEach((r, i) => acc.add('train', { text: r.text, label: meta.labels[r.label]!, line: i + 1 }));
    evalRows.forEach((r, i) => acc.add('eval', { text: r.text, label: meta.labels[r.label]!, line: i + 1 }));
    return acc.finish(options);
  }
  // A source file: read it (and the evaluation file) through the mapping. The file is first
  // resolved so that an encoding fallback happens before any row is counted.
  const acc = new DoctorAccumulator(input.mapping.labelNames, options.tokenSampleSize);
  const trainFormat = await resolveFormat(input.file, input.mapping.parse ?? {});
  const trainMapping: DatasetMapping = { ...input.mapping, parse: { ...trainFormat.settings } };
  const trainResult = await readFileIntoWithFallback(acc, 'train', input.file, trainMapping, input.mapping, options);
  const split = input.split ?? options.split;
  if (split?.kind === 'file') {
    const evalFormat = await resolveFormat(split.evalFile, split.evalMapping?.parse ?? {});
    const evalMapping = split.evalMapping ?? mappingForSecondFile(input.mapping, trainResult.format, evalFormat);
    await readFileIntoWithFallback(acc, 'eval', split.evalFile, { ...evalMapping, parse: { ...evalFormat.settings } }, evalMapping, options);
  }
  return acc.finish({ ...options, split });
}

/**
 * The doctor counts as it reads and cannot restart halfway, so a file whose UTF-8 breaks after
 * the sample is checked first (a cheap validation pass) and read as Windows-1252 from the start.
 */
async function readFileIntoWithFallback(
  acc: DoctorAccumulator,
  side: Side,
  file: string,
  mapping: DatasetMapping,
  original: DatasetMapping,
  options: LongTaskOptions,
): Promise<Awaited<ReturnType<typeof readMappedRows>>> {
  if (mapping.parse?.encoding === 'utf-8' && original.parse?.encoding === undefined) {
    const invalid = await firstInvalidUtf8InFile(file, options.signal);
    if (invalid) {
      mapping = { ...mapping, parse: { ...mapping.parse, encoding: 'windows-1252' } };
      acc.addNote(`${path.basename(file)}: ${invalidUtf8Note(invalid.byteOffset, invalid.line)}`);
    }
  }
  return readFileInto(acc, side, file, mapping, options);
}
