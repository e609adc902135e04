/**
 * The data doctor: what is wrong with a dataset before an hour is spent training on it. Class
 * balance with suggested class weights, exact and conflicting duplicates, train/eval leakage,
 * empty texts and missing labels (with row numbers), small classes, and, given the model's
 * tokenizer, a token-length histogram with the share truncated at max length. Blocking problems
 * (no rows, one class, no text, the training file given as the evaluation file) stop training;
 * warnings let the user go on.
 *
 * Rows are examined in one streaming pass: memory grows with the number of distinct texts (a
 * hash and a few typed-array slots per text, ~46 bytes), not with their size, and token lengths
 * are measured on a seeded sample. The pass gathers facts; each finding is then one named check
 * over them (CHECKS), and a fix is a typed DoctorFix the app acts on by kind and fields.
 */
import fs from 'node:fs';
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
import { hashText, seededRandom, sha256File } from './hash';
import { describeVariants, LabelNormaliser, type FinishedLabels } from './labels';
import { plural } from '../../shared/format';
import { mappingForSecondFile, readMappedRows } from './mapping';
import { loadPreparedDataset, readSourceLines } from './prepare';
import type { ResolvedFormat } from './format';
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

const SIDE_TRAIN = 1;
const SIDE_EVAL = 2;
const CONFLICT = 4;

/**
 * What the doctor remembers about each distinct text, in typed arrays (an object per text cost
 * ~110 bytes a row on a million short rows): its first label, the sides it is on, whether it
 * occurs with another label, and its rows per side.
 */
class TextTable {
  private readonly index = new Map<number, number>();
  private size = 0;
  labels = new Int32Array(1024);
  flags = new Uint8Array(1024);
  trainRows = new Int32Array(1024);
  evalRows = new Int32Array(1024);

  /** The text's slot, created (with its first label) when new; `created` says which. */
  slot(hash: number, label: number): { at: number; created: boolean } {
    const at = this.index.get(hash);
    if (at !== undefined) return { at, created: false };
    if (this.size === this.labels.length) this.grow();
    this.index.set(hash, this.size);
    this.labels[this.size] = label;
    return { at: this.size++, created: true };
  }

  private grow(): void {
    const n = this.labels.length * 2;
    const widen = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.labels = widen(this.labels, (k) => new Int32Array(k));
    this.flags = widen(this.flags, (k) => new Uint8Array(k));
    this.trainRows = widen(this.trainRows, (k) => new Int32Array(k));
    this.evalRows = widen(this.evalRows, (k) => new Int32Array(k));
  }

  /** Rows of texts that occur with more than one label, per side. */
  conflictRows(): { train: number; eval: number } {
    let train = 0;
    let evalRows = 0;
    for (let i = 0; i < this.size; i++) {
      if (!(this.flags[i]! & CONFLICT)) continue;
      train += this.trainRows[i]!;
      evalRows += this.evalRows[i]!;
    }
    return { train, eval: evalRows };
  }
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
  private readonly texts = new TextTable();
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
  private evalIsTrain: DoctorFacts['evalIsTrain'] = null;
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

    const sideBit = side === 'train' ? SIDE_TRAIN : SIDE_EVAL;
    const t = this.texts;
    const { at, created } = t.slot(hashText(text), label);
    if (side === 'train') t.trainRows[at]!++;
    else t.evalRows[at]!++;
    if (!created) {
      const flags = t.flags[at]!;
      if (t.labels[at] !== label) {
        if (!(flags & CONFLICT)) this.conflictTexts++;
        t.flags[at] = flags | CONFLICT;
        this.conflictRows[side].add(line);
      } else if (flags & sideBit) this.duplicates[side].add(line);
      if (side === 'eval' && flags & SIDE_TRAIN) this.leaked.add(line);
    }
    t.flags[at]! |= sideBit;

    // Reservoir sample of texts for the token lengths (deterministic: seeded).
    this.sampled++;
    if (this.sample.length < this.sampleSize) this.sample.push(text);
    else {
      const j = Math.floor(this.random() * this.sampled);
      if (j < this.sampleSize) this.sample[j] = text;
    }
  }

  /** The training and evaluation sources are the same file (same path or same content). */
  markEvalIsTrain(reason: 'same-path' | 'same-content', evalName: string): void {
    this.evalIsTrain = { reason, evalName };
  }

  async finish(options: DoctorRunOptions = {}): Promise<DoctorReport> {
    const facts = this.facts(options);
    const findings: DoctorFinding[] = CHECKS.flatMap((check) => check(facts));
    let tokenLengths: TokenLengthReport | null = null;
    if (options.countTokens && this.sample.length > 0) {
      tokenLengths = await this.measureTokens(options.countTokens, facts.maxLength, options);
      findings.push(...checkTruncation(tokenLengths, facts.maxLength));
    }
    findings.push(...checkEncodingNotes(facts));
    const order = { blocking: 0, warning: 1, info: 2 } as const;
    findings.sort((a, b) => order[a.severity] - order[b.severity]);
    return {
      trainCount: facts.trainCount,
      evalCount: facts.evalCount,
      blocking: findings.some((f) => f.severity === 'blocking'),
      findings: findings.map((f) => (f.fix === undefined ? withoutUndefined(f) : f)),
      classBalance: facts.classBalance,
      tokenLengths,
    };
  }

  /** Everything the checks read, computed once. */
  private facts(options: DoctorRunOptions): DoctorFacts {
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
    const conflictRows = this.texts.conflictRows();
    return {
      maxLength: options.maxLength ?? DEFAULT_MAX_LENGTH,
      minClassSize: options.minClassSize ?? DEFAULT_MIN_CLASS_SIZE,
      finished,
      labels,
      trainCounts,
      evalCounts,
      trainCount: trainCounts.reduce((a, b) => a + b, 0),
      evalCount: evalCounts.reduce((a, b) => a + b, 0),
      ratioSplit,
      hasEval: this.hasEval,
      rowsSeen: this.rowsSeen,
      usable: this.usable,
      emptyTexts: this.emptyTexts,
      missingLabels: this.missingLabels,
      duplicates: this.duplicates,
      conflictRows: this.conflictRows,
      conflictTexts: this.conflictTexts,
      conflictRowsTrain: conflictRows.train,
      conflictRowsEval: conflictRows.eval,
      leaked: this.leaked,
      skipped: this.skipped,
      notes: this.notes,
      evalIsTrain: this.evalIsTrain,
      classBalance: balanceOf(labels, trainCounts, evalCounts),
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

/** What the checks read: the counts of one pass, with the split applied. */
interface DoctorFacts {
  maxLength: number;
  minClassSize: number;
  finished: FinishedLabels;
  labels: string[];
  trainCounts: number[];
  evalCounts: number[];
  trainCount: number;
  evalCount: number;
  ratioSplit: Extract<SplitSpec, { kind: 'ratio' }> | null;
  hasEval: boolean;
  rowsSeen: Readonly<Record<Side, number>>;
  usable: Readonly<Record<Side, number>>;
  emptyTexts: Readonly<Record<Side, RowList>>;
  missingLabels: Readonly<Record<Side, RowList>>;
  duplicates: Readonly<Record<Side, RowList>>;
  conflictRows: Readonly<Record<Side, RowList>>;
  conflictTexts: number;
  /** Every row of a text that occurs with more than one label, per side. */
  conflictRowsTrain: number;
  conflictRowsEval: number;
  leaked: RowList;
  skipped: Partial<Record<Side, { file: string; rows: SkippedRows }>>;
  notes: readonly string[];
  evalIsTrain: { reason: 'same-path' | 'same-content'; evalName: string } | null;
  classBalance: ClassBalance;
}

type DoctorCheck = (f: DoctorFacts) => DoctorFinding[];

const count = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number, of: number): string => `${of ? ((100 * n) / of).toFixed(n / of < 0.01 ? 2 : 1) : '0'} %`;
const quoted = (labels: readonly string[], max = 10): string => `${labels.slice(0, max).map((l) => `"${l}"`).join(', ')}${labels.length > max ? ', ...' : ''}`;
const rowsOf = (list: RowList, side: Side): Pick<DoctorFinding, 'affected' | 'rows' | 'rowsIn'> => ({ affected: list.count, rows: [...list.rows], rowsIn: side });
const sidesWith = (what: Readonly<Record<Side, RowList>>): Side[] => (['train', 'eval'] as Side[]).filter((s) => what[s].count > 0);
const allTextsEmpty = (f: DoctorFacts): boolean => f.rowsSeen.train > 0 && f.emptyTexts.train.count === f.rowsSeen.train;

function checkNoText(f: DoctorFacts): DoctorFinding[] {
  if (!allTextsEmpty(f)) return [];
  return [
    {
      id: 'no-text-column',
      severity: 'blocking',
      title: 'There is no text to learn from',
      detail: `Every one of the ${count(f.rowsSeen.train)} rows has an empty text. Choose the column that holds the texts (several can be joined).`,
      affected: f.rowsSeen.train,
      fix: { kind: 'edit-file', label: 'Choose the text column' },
    },
  ];
}

function checkNoRows(f: DoctorFacts): DoctorFinding[] {
  if (allTextsEmpty(f) || f.usable.train > 0) return [];
  return [
    {
      id: 'no-rows',
      severity: 'blocking',
      title: 'No usable rows',
      detail:
        f.rowsSeen.train === 0
          ? 'The file has no data rows. Choose a file with one example per row (a text and its label).'
          : `None of the ${count(f.rowsSeen.train)} rows has both a text and a label. Check the text and label columns.`,
      affected: f.rowsSeen.train,
      fix: { kind: 'edit-file', label: 'Choose other columns or another file' },
    },
  ];
}

/** One label among the training rows (labels only in a separate evaluation file do not count). */
function checkOneClass(f: DoctorFacts): DoctorFinding[] {
  if (f.usable.train === 0) return [];
  const trainLabels = f.labels.filter((_, c) => f.trainCounts[c]! > 0);
  if (trainLabels.length >= 2) return [];
  return [
    {
      id: 'one-class',
      severity: 'blocking',
      title: 'Only one label',
      detail: `Every ${f.hasEval ? 'training ' : ''}row has the label "${trainLabels[0] ?? ''}". A classifier learns to tell labels apart, so it needs at least two. Check that the label column is the right one, or add rows of the other classes.`,
      affected: f.usable.train,
      fix: { kind: 'edit-file', label: 'Choose the label column' },
    },
  ];
}

function checkEvalIsTrain(f: DoctorFacts): DoctorFinding[] {
  if (!f.evalIsTrain) return [];
  const { reason, evalName } = f.evalIsTrain;
  return [
    {
      id: 'eval-is-train',
      severity: 'blocking',
      title: 'The evaluation file is the training file',
      detail: `${evalName} ${reason === 'same-path' ? 'is the training file itself' : 'has exactly the same content as the training file'}, so every evaluation text was seen in training and the scores would say nothing about new texts. Choose a different evaluation file, or split the training file.`,
      affected: f.rowsSeen.eval,
      fix: { kind: 'split-ratio', label: 'Split the training file instead' },
    },
  ];
}

function checkNoEvalRows(f: DoctorFacts): DoctorFinding[] {
  if (!f.hasEval || f.usable.eval > 0) return [];
  return [
    {
      id: 'no-eval-rows',
      severity: 'blocking',
      title: 'The evaluation file has no usable rows',
      detail: 'None of its rows has both a text and a label. Check its columns, or split the training file instead.',
      affected: f.rowsSeen.eval,
      fix: { kind: 'split-ratio', label: 'Split the training file instead' },
    },
  ];
}

function checkEvalOnlyLabels(f: DoctorFacts): DoctorFinding[] {
  const evalOnly = f.finished.evalOnly;
  if (evalOnly.length === 0 || !f.hasEval) return [];
  return [
    {
      id: 'eval-only-labels',
      severity: 'blocking',
      title: 'Labels that occur only in the evaluation rows',
      detail: `${quoted(evalOnly.map((e) => e.label)).replace(/, \.\.\.$/, '')} never occur in the training rows (the first at evaluation line ${evalOnly[0]!.line}). A model cannot predict a label it never saw: fix the labels or add training rows for them.`,
      affected: evalOnly.length,
      rows: evalOnly.slice(0, ROW_LIST_LIMIT).map((e) => e.line),
      rowsIn: 'eval',
      fix: { kind: 'edit-file', label: 'Fix the evaluation labels' },
    },
  ];
}

/** A ratio split needs two rows of each class, one for each side. */
function checkSingletonClasses(f: DoctorFacts): DoctorFinding[] {
  if (!f.ratioSplit) return [];
  const single = f.labels.filter((_, c) => f.trainCounts[c]! + f.evalCounts[c]! < 2);
  if (single.length === 0) return [];
  const one = single.length === 1;
  return [
    {
      id: 'small-classes',
      severity: 'blocking',
      title: 'Labels with a single row',
      detail: `${quoted(single)} ${one ? 'has' : 'have'} one row, so the split cannot put ${one ? 'it' : 'them'} on both the training and the evaluation side. Add rows, remove ${one ? 'that label' : 'those labels'}, or give a separate evaluation file.`,
      affected: single.length,
      fix: { kind: 'edit-file', label: 'Add rows or give an evaluation file' },
    },
  ];
}

function checkSkippedRows(f: DoctorFacts): DoctorFinding[] {
  const out: DoctorFinding[] = [];
  for (const side of ['train', 'eval'] as Side[]) {
    const skipped = f.skipped[side];
    if (!skipped || skipped.rows.count === 0) continue;
    out.push({
      id: 'skipped-rows',
      severity: 'warning',
      title: `Rows that could not be read (${skipped.file})`,
      detail: `${plural(skipped.rows.count, 'row')} could not be read and will be left out. ${skipped.rows.rows
        .slice(0, 3)
        .map((r) => `Line ${r.line}: ${r.reason}`)
        .join(' ')}`,
      affected: skipped.rows.count,
      rows: skipped.rows.rows.slice(0, ROW_LIST_LIMIT).map((r) => r.line),
      rowsIn: side,
      rowsFile: skipped.file,
      fix: { kind: 'edit-file', label: 'Fix those lines in the file' },
    });
  }
  return out;
}

function checkEmptyTexts(f: DoctorFacts): DoctorFinding[] {
  if (allTextsEmpty(f)) return [];
  return sidesWith(f.emptyTexts).map((side) => {
    const list = f.emptyTexts[side];
    return {
      id: 'empty-texts',
      severity: 'warning',
      title: `Empty texts${side === 'eval' ? ' (evaluation)' : ''}`,
      detail: `${count(list.count)} row${list.count === 1 ? ' has' : 's have'} no text (${pct(list.count, f.rowsSeen[side])}) and will be left out.`,
      ...rowsOf(list, side),
    };
  });
}

function checkMissingLabels(f: DoctorFacts): DoctorFinding[] {
  return sidesWith(f.missingLabels).map((side) => {
    const list = f.missingLabels[side];
    return {
      id: 'missing-labels',
      severity: 'warning',
      title: `Missing labels${side === 'eval' ? ' (evaluation)' : ''}`,
      detail: `${count(list.count)} row${list.count === 1 ? ' has' : 's have'} a text but no label (${pct(list.count, f.rowsSeen[side])}) and will be left out. Label them if you can: unlabeled rows teach nothing.`,
      ...rowsOf(list, side),
    };
  });
}

function checkLabelVariants(f: DoctorFacts): DoctorFinding[] {
  const variants = f.finished.variants;
  if (variants.length === 0) return [];
  return [
    {
      id: 'label-variants',
      severity: 'info',
      title: 'Label spellings merged',
      detail: `${describeVariants(variants, 5).join(' ')} Labels are compared without surrounding spaces and without case.`,
      affected: variants.reduce((a, v) => a + v.count, 0),
    },
  ];
}

/**
 * Texts with more than one label. `affected` and `rows` are the rows after a text's first
 * label that disagree with it; the fix drops every row of those texts (which label is right
 * cannot be known), and says how many, on each side.
 */
function checkConflicts(f: DoctorFacts): DoctorFinding[] {
  if (f.conflictTexts === 0) return [];
  const side: Side = f.conflictRows.train.count > 0 ? 'train' : 'eval';
  const rows = f.conflictRows.train.count + f.conflictRows.eval.count;
  const all = f.conflictRowsTrain + f.conflictRowsEval;
  const inEval = f.conflictRowsEval > 0 ? `, ${count(f.conflictRowsEval)} of them in the evaluation file` : '';
  return [
    {
      id: 'conflicting-duplicates',
      severity: 'warning',
      title: 'Same text, different labels',
      detail: `${count(f.conflictTexts)} text${f.conflictTexts === 1 ? ' appears' : 's appear'} with more than one label (${plural(rows, 'row')} disagree with the first label of ${f.conflictTexts === 1 ? 'its' : 'their'} text; ${plural(all, 'row')} in all${inEval}). The model is told two different answers for the same input: fix the labels, or drop all ${plural(all, 'row')} of ${f.conflictTexts === 1 ? 'this text' : 'these texts'}.`,
      affected: rows,
      rows: f.conflictRows[side].rows.slice(),
      rowsIn: side,
      fix: {
        kind: 'drop-conflicting',
        label: `Drop all ${plural(all, 'row')} with conflicting labels${f.conflictRowsEval > 0 ? ` (${count(f.conflictRowsEval)} from the evaluation file)` : ''}`,
        trainRows: f.conflictRowsTrain,
        evalRows: f.conflictRowsEval,
      },
    },
  ];
}

function checkDuplicates(f: DoctorFacts): DoctorFinding[] {
  return sidesWith(f.duplicates).map((side) => {
    const list = f.duplicates[side];
    const share = list.count / Math.max(1, f.rowsSeen[side]);
    return {
      id: 'duplicates',
      severity: share >= 0.05 ? 'warning' : 'info',
      title: `Duplicate rows${side === 'eval' ? ' (evaluation)' : ''}`,
      detail: `${count(list.count)} row${list.count === 1 ? ' repeats' : 's repeat'} the text and label of an earlier row (${pct(list.count, f.rowsSeen[side])}). Repeats weigh more in training${side === 'eval' ? ' and in the scores' : ''}; dropping them is usually right.`,
      ...rowsOf(list, side),
      fix: { kind: 'drop-duplicates', label: 'Keep one of each duplicate' },
    };
  });
}

function checkLeakage(f: DoctorFacts): DoctorFinding[] {
  if (f.leaked.count === 0 || f.evalIsTrain) return [];
  const n = f.leaked.count;
  return [
    {
      id: 'leakage',
      severity: 'warning',
      title: 'Evaluation texts also in the training rows',
      detail: `${count(n)} evaluation row${n === 1 ? '' : 's'} (${pct(n, f.rowsSeen.eval)}) also appear${n === 1 ? 's' : ''} among the training rows, so the evaluation overstates how well the model does on new texts.`,
      ...rowsOf(f.leaked, 'eval'),
      fix: { kind: 'drop-leaked', label: 'Drop those evaluation rows' },
    },
  ];
}

function checkSmallClasses(f: DoctorFacts): DoctorFinding[] {
  if (f.usable.train === 0) return [];
  const { trainCounts, evalCounts, minClassSize } = f;
  const small = f.labels.filter((_, c) => trainCounts[c]! > 0 && trainCounts[c]! < minClassSize && (!f.ratioSplit || trainCounts[c]! + evalCounts[c]! >= 2));
  if (small.length === 0) return [];
  const one = small.length === 1;
  return [
    {
      id: 'small-classes',
      severity: 'warning',
      title: `Classes with fewer than ${minClassSize} training rows`,
      detail: `${plural(small.length, 'label')} (${quoted(small)}) ${one ? 'has' : 'have'} fewer than ${minClassSize} training rows; the model will rarely predict ${one ? 'it' : 'them'} well. Add examples or merge rare labels.`,
      affected: small.length,
      fix: { kind: 'edit-file', label: 'Add examples of rare labels' },
    },
  ];
}

function checkEvalMissingClasses(f: DoctorFacts): DoctorFinding[] {
  if (f.usable.train === 0 || f.evalCount === 0 || f.ratioSplit) return [];
  const missing = f.labels.filter((_, c) => f.trainCounts[c]! > 0 && f.evalCounts[c] === 0);
  if (missing.length === 0) return [];
  const one = missing.length === 1;
  return [
    {
      id: 'eval-missing-classes',
      severity: 'warning',
      title: 'Classes missing from the evaluation rows',
      detail: `${quoted(missing)} ${one ? 'has' : 'have'} no evaluation rows, so ${one ? 'its' : 'their'} scores cannot be measured.`,
      affected: missing.length,
      fix: { kind: 'split-ratio', label: 'Split the training file instead' },
    },
  ];
}

function checkImbalance(f: DoctorFacts): DoctorFinding[] {
  const balance = f.classBalance;
  if (!balance.imbalanced || f.labels.length < 2) return [];
  const sorted = balance.classes.filter((c) => c.train > 0).sort((a, b) => b.train - a.train);
  const big = sorted[0]!;
  const little = sorted[sorted.length - 1]!;
  return [
    {
      id: 'imbalance',
      severity: balance.imbalanceRatio >= 3 ? 'warning' : 'info',
      title: 'Imbalanced classes',
      detail: `"${big.label}" has ${count(big.train)} training rows and "${little.label}" only ${count(little.train)} (${balance.imbalanceRatio.toFixed(1)} to 1). The model will lean towards the large classes; a class-weighted loss (weights n / (classes x count)) evens this out, and macro F1 is the fairer score.`,
      affected: 0,
      fix: { kind: 'class-weights', label: 'Use class weights' },
    },
  ];
}

function checkTruncation(tokenLengths: TokenLengthReport, maxLength: number): DoctorFinding[] {
  if (tokenLengths.truncatedCount === 0) return [];
  const suggested = Math.min(512, Math.max(maxLength, nextMultiple(tokenLengths.p99, 32)));
  const sampled = tokenLengths.measured < tokenLengths.total ? ` (measured on ${count(tokenLengths.measured)} of ${count(tokenLengths.total)})` : '';
  return [
    {
      id: 'truncation',
      severity: tokenLengths.truncatedShare >= 0.05 ? 'warning' : 'info',
      title: `Texts longer than ${maxLength} tokens`,
      detail: `${pct(tokenLengths.truncatedCount, tokenLengths.measured)} of the rows${sampled} are longer than ${maxLength} tokens and will be cut; the longest has ${count(tokenLengths.max)}. ${suggested > maxLength ? `A max length of ${suggested} keeps 99 % of them whole, at the cost of slower training.` : 'The cut part is usually less important.'}`,
      affected: tokenLengths.truncatedCount,
      fix: suggested > maxLength ? { kind: 'max-length', label: `Use max length ${suggested}`, maxLength: suggested } : undefined,
    },
  ];
}

function checkEncodingNotes(f: DoctorFacts): DoctorFinding[] {
  return f.notes.map((note) => ({ id: 'encoding', severity: 'info', title: 'Encoding', detail: note, affected: 0 }));
}

/** The doctor's checks, blocking problems first (the report is sorted by severity after). */
const CHECKS: readonly DoctorCheck[] = [
  checkNoText,
  checkNoRows,
  checkOneClass,
  checkEvalIsTrain,
  checkNoEvalRows,
  checkEvalOnlyLabels,
  checkSingletonClasses,
  checkSkippedRows,
  checkEmptyTexts,
  checkMissingLabels,
  checkLabelVariants,
  checkConflicts,
  checkDuplicates,
  checkLeakage,
  checkSmallClasses,
  checkEvalMissingClasses,
  checkImbalance,
];

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
  format: ResolvedFormat,
  mapping: DatasetMapping,
  options: LongTaskOptions,
): Promise<Awaited<ReturnType<typeof readMappedRows>>> {
  format = await resolveFormat(format.file, mapping.parse ?? {}, format.displayName);
  const result = await readMappedRows(format, mapping, (row) => acc.add(side, row), {
    ...options,
    phase: side === 'train' ? 'reading' : 'reading evaluation file',
    field: side === 'train' ? 'mapping' : 'split.evalMapping',
    reset: () => {
      throw new AppError('internal', 'restart after the doctor started counting');
    },
  });
  acc.addSkipped(side, format.displayName, result.summary.skipped);
  if (result.format.encodingNote) acc.addNote(`${format.displayName}: ${result.format.encodingNote}`);
  return result;
}

/** Whether the evaluation file is the training file: the same path, or the same bytes. */
export async function sameFile(a: string, b: string, signal?: AbortSignal): Promise<'same-path' | 'same-content' | null> {
  const real = async (f: string): Promise<string> => fs.promises.realpath(f).catch(() => path.resolve(f));
  if ((await real(a)) === (await real(b))) return 'same-path';
  const [sa, sb] = await Promise.all([fs.promises.stat(a), fs.promises.stat(b)]);
  if (sa.size !== sb.size) return null;
  const [ha, hb] = await Promise.all([sha256File(a, signal), sha256File(b, signal)]);
  return ha === hb ? 'same-content' : null;
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
    // Row numbers are the source files' lines when the dataset kept them (see prepare.ts).
    const lines = readSourceLines(options.dataDir, input.id, train.length, evalRows.length);
    const acc = new DoctorAccumulator(undefined, options.tokenSampleSize, 42, meta.labels);
    train.forEach((r, i) => acc.add('train', { text: r.text, label: meta.labels[r.label]!, line: lines ? lines.train[i]! : i + 1 }));
    evalRows.forEach((r, i) => acc.add('eval', { text: r.text, label: meta.labels[r.label]!, line: lines ? lines.eval[i]! : i + 1 }));
    return acc.finish(options);
  }
  // A source file: read it (and the evaluation file) through the mapping. The file is first
  // resolved so that an encoding fallback happens before any row is counted.
  const acc = new DoctorAccumulator(input.mapping.labelNames, options.tokenSampleSize);
  const trainFormat = await resolveFormat(input.file, input.mapping.parse ?? {}, input.displayName);
  const trainMapping: DatasetMapping = { ...input.mapping, parse: { ...trainFormat.settings } };
  const trainResult = await readFileIntoWithFallback(acc, 'train', trainFormat, trainMapping, input.mapping, options);
  const split = input.split ?? options.split;
  if (split?.kind === 'file') {
    const evalFormat = await resolveFormat(split.evalFile, split.evalMapping?.parse ?? {}, split.evalDisplayName);
    const same = await sameFile(trainFormat.file, evalFormat.file, options.signal);
    if (same) acc.markEvalIsTrain(same, evalFormat.displayName);
    const evalMapping = split.evalMapping ?? mappingForSecondFile(input.mapping, trainResult.format, evalFormat);
    await readFileIntoWithFallback(acc, 'eval', evalFormat, { ...evalMapping, parse: { ...evalFormat.settings } }, evalMapping, options);
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
  format: ResolvedFormat,
  mapping: DatasetMapping,
  original: DatasetMapping,
  options: LongTaskOptions,
): Promise<Awaited<ReturnType<typeof readMappedRows>>> {
  if (mapping.parse?.encoding === 'utf-8' && original.parse?.encoding === undefined) {
    const invalid = await firstInvalidUtf8InFile(format.file, options.signal);
    if (invalid) {
      mapping = { ...mapping, parse: { ...mapping.parse, encoding: 'windows-1252' } };
      acc.addNote(`${format.displayName}: ${invalidUtf8Note(invalid.byteOffset, invalid.line)}`);
    }
  }
  return readFileInto(acc, side, format, mapping, options);
}
