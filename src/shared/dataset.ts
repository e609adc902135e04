/**
 * Datasets: what the app learns about a user's file (inspection), how the user maps it to
 * text + label (mapping), the prepared immutable copy a run trains on, and the data doctor's
 * report. Plain serialisable data only; src/shared/dataset-schema.ts validates the inputs.
 */
import type { ClassMetrics } from './types';

/** Text encodings the reader understands. 'utf-8' also covers UTF-8 with a BOM. */
export const TEXT_ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252'] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/** Field delimiters the reader detects. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;
export type Delimiter = (typeof DELIMITERS)[number];

/**
 * File layouts: 'delimited' is CSV/TSV (one record per line, quoted fields may span lines);
 * 'label-first' is one example per line as `LABEL text...` separated by the first space or tab
 * (TREC, SST-2, MR/Subj/CR/MPQA); 'jsonl' is one JSON object per line.
 */
export const FILE_FORMATS = ['delimited', 'label-first', 'jsonl'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** How a file is read. The inspection fills every field; a user may override any of them. */
export interface ParseSettings {
  format: FileFormat;
  encoding: TextEncoding;
  /** Only for 'delimited'. */
  delimiter: Delimiter | null;
  /** Only for 'delimited': whether "..." quotes a field (false reads quotes as plain text). */
  quoted: boolean;
  /** Whether the first record names the columns (always false for 'label-first', true for 'jsonl'). */
  hasHeader: boolean;
}

/** What the user (or the CLI) forces instead of what was detected. */
export type ParseOverrides = Partial<ParseSettings>;

export const COLUMN_TYPES = ['text', 'number', 'category', 'empty'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnInfo {
  /** 0-based position in the record. */
  index: number;
  /** The header's name, or "column 1", "column 2"... when the file has no header. */
  name: string;
  type: ColumnType;
  /** Up to 5 distinct non-empty values from the top of the file, each cut to 200 characters. */
  sampleValues: string[];
  /** Distinct non-empty values; a lower bound when distinctCountCapped. */
  distinctCount: number;
  distinctCountCapped: boolean;
  /** Rows where this column is empty (or only spaces). */
  emptyCount: number;
  /** Mean and maximum length in characters of the non-empty values. */
  meanLength: number;
  maxLength: number;
}

/** How columns become an example: the text (one or several columns joined) and its label. */
export interface DatasetMapping {
  /** Column indexes whose values are joined, in this order, into the text. At least one. */
  textColumns: number[];
  /** Put between joined text columns (empty parts are left out). Default: one space. */
  textSeparator: string;
  labelColumn: number;
  /** Display names for raw label values, e.g. {"1": "World", "2": "Sports"} for numeric codes. */
  labelNames?: Record<string, string>;
  /** How to read the file; detected when left out. */
  parse?: ParseOverrides;
}

export interface LabelCount {
  /** The label after normalisation (names applied, spaces trimmed, case variants merged). */
  label: string;
  count: number;
}

/** A row the reader could not use, with the 1-based line where it starts. */
export interface SkippedRow {
  line: number;
  reason: string;
}

export interface SkippedRows {
  count: number;
  /** The first ones (at most 100). */
  rows: SkippedRow[];
}

/** Another way to read a file than the one chosen: pass its parse as InspectOverrides to use it. */
export interface FormatAlternative {
  parse: ParseSettings;
  /** Column names this reading finds. */
  columns: string[];
  /** Share of the sampled lines this reading reads as rows (or a header), 0..1. */
  explainedShare: number;
  /** Plain language, e.g. 'one example per line as "LABEL text"'. */
  description: string;
}

export interface DatasetInspection {
  /** Absolute path of the file. */
  file: string;
  fileName: string;
  sizeBytes: number;
  parse: ParseSettings;
  /** Set when the encoding was not obvious, e.g. "not valid UTF-8 at line 12, read as Windows-1252". */
  encodingNote: string | null;
  /** Data rows (the header is not counted; skipped rows are not counted). */
  rowCount: number;
  columns: ColumnInfo[];
  /** The mapping the app proposes; null when no text or no label column could be found. */
  suggestedMapping: DatasetMapping | null;
  /** Where suggestedMapping.labelNames came from, e.g. ".../classes.txt". */
  labelNamesSource: string | null;
  /** Label distribution of the suggested (or overridden) label column, most frequent first, at most 1,000. */
  labelDistribution: LabelCount[];
  /** Number of distinct labels (after normalisation); a lower bound when labelCountCapped. */
  labelCount: number;
  labelCountCapped: boolean;
  skipped: SkippedRows;
  /**
   * Lines where a quote opens and is never closed properly: each was read with the quote as part
   * of its text (and the lines after it normally). The first 20 lines.
   */
  brokenQuotes: { count: number; lines: number[] };
  /** Plain-language notes for the user (merged label spellings, removed NUL characters...). */
  warnings: string[];
  /** Other plausible readings of the file, best first (empty when the layout was given or is clear). */
  alternatives: FormatAlternative[];
  /**
   * True when an alternative reads the file about as well as `parse`: the app cannot tell, so the
   * user should choose (InspectOverrides with the alternative's parse).
   */
  ambiguous: boolean;
  elapsedMs: number;
}

export interface InspectOverrides extends ParseOverrides {
  /** Compute the label distribution of this column instead of the suggested one. */
  labelColumn?: number;
}

/** The first rows of a file as a table, for the mapping screen. */
export interface DatasetPreview {
  parse: ParseSettings;
  columns: string[];
  rows: { line: number; values: string[] }[];
}

export type SplitSpec =
  | {
      kind: 'file';
      /** A second file with the evaluation rows. */
      evalFile: string;
      /** How to read it; when left out, the training mapping (columns matched by header name when both files have one). */
      evalMapping?: DatasetMapping;
      /** Its name as the user knows it (a web upload's original name), for messages. */
      evalDisplayName?: string;
    }
  | {
      kind: 'ratio';
      /** Share of each class held out for evaluation, 0 < evalRatio < 1. */
      evalRatio: number;
      seed: number;
    };

/** Optional clean-ups, each the fix of a data doctor finding. */
export interface DatasetCleaning {
  /** Keep only the first of rows with the same text and the same label. */
  dropDuplicates?: boolean;
  /** Drop every row whose text also occurs with another label. */
  dropConflicting?: boolean;
  /** Drop evaluation rows whose text also occurs in the training rows. */
  dropLeakedFromEval?: boolean;
}

export interface PrepareRequest {
  file: string;
  mapping: DatasetMapping;
  split: SplitSpec;
  /** Shown in the UI; defaults to the file name. */
  name?: string;
  /** The file's name as the user knows it (a web upload's original name), for messages and the default name. */
  displayName?: string;
  cleaning?: DatasetCleaning;
}

export interface ClassCount {
  label: string;
  train: number;
  eval: number;
}

/** meta.json of a prepared dataset: <dataDir>/datasets/<id>/ holds it with train.jsonl and eval.jsonl. */
export interface PreparedDataset {
  /** sha256 (hex) of the prepared content: labels, train rows and eval rows. */
  id: string;
  name: string;
  /** Label names; a row's label is an index into this list. */
  labels: string[];
  trainCount: number;
  evalCount: number;
  classCounts: ClassCount[];
  source: { file: string; sizeBytes: number; sha256: string };
  evalSource: { file: string; sizeBytes: number; sha256: string } | null;
  mapping: DatasetMapping;
  evalMapping: DatasetMapping | null;
  split: SplitSpec;
  cleaning: DatasetCleaning;
  parse: ParseSettings;
  /** sha256 (hex) of train.jsonl and eval.jsonl, checked when the dataset is loaded. */
  contentSha256: { train: string; eval: string };
  /** Epoch milliseconds. */
  createdAt: number;
  /** What was changed or left out while preparing, in plain language. */
  warnings: string[];
  formatVersion: 1;
  /** The keyword baseline's scores (from baseline-report.json beside meta.json; not part of the fingerprint), or null when none was computed. */
  baseline: BaselineSummary | null;
}

/**
 * The keyword baseline (TF-IDF word 1-2 grams + logistic regression) of a prepared dataset:
 * trained on its training rows, scored on the same evaluation rows as the runs.
 */
export interface BaselineSummary {
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted], in label order. */
  confusion: number[][];
  /** Mean cross-entropy on the evaluation rows. */
  evalLoss: number;
  trainRows: number;
  evalRows: number;
  /** Distinct word uni- and bigrams kept. */
  features: number;
  iterations: number;
  converged: boolean;
  trainSeconds: number;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** One example as the engine trains on it. */
export interface DatasetRow {
  text: string;
  /** Index into PreparedDataset.labels. */
  label: number;
}

export interface LoadedDataset {
  meta: PreparedDataset;
  train: DatasetRow[];
  eval: DatasetRow[];
}

export const FINDING_SEVERITIES = ['blocking', 'warning', 'info'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

export const FINDING_IDS = [
  'no-rows',
  'no-text-column',
  'one-class',
  'no-eval-rows',
  'skipped-rows',
  'empty-texts',
  'missing-labels',
  'label-variants',
  'duplicates',
  'conflicting-duplicates',
  'leakage',
  'small-classes',
  'eval-missing-classes',
  'eval-only-labels',
  'imbalance',
  'truncation',
  'encoding',
  'eval-is-train',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

export const FIX_KINDS = [
  'split-ratio',
  'class-weights',
  'drop-duplicates',
  'drop-conflicting',
  'drop-leaked',
  'max-length',
  'edit-file',
] as const;
export type FixKind = (typeof FIX_KINDS)[number];

/**
 * The fix a finding proposes, typed: the app acts on `kind` and its fields, never on `label`
 * (the button text shown to the user).
 */
export type DoctorFix =
  | { kind: 'split-ratio'; label: string }
  | { kind: 'class-weights'; label: string }
  | { kind: 'drop-duplicates'; label: string }
  /** Drops every row of a text that occurs with more than one label, on both sides. */
  | { kind: 'drop-conflicting'; label: string; trainRows: number; evalRows: number }
  | { kind: 'drop-leaked'; label: string }
  | { kind: 'max-length'; label: string; maxLength: number }
  | { kind: 'edit-file'; label: string };

export interface DoctorFinding {
  id: FindingId;
  severity: FindingSeverity;
  title: string;
  /** Plain language: what is wrong, why it matters, what to do. */
  detail: string;
  /** How many rows are affected (0 when the finding is about the whole dataset). */
  affected: number;
  /** The first affected rows (at most 50): line numbers of the source file, or row numbers of a prepared dataset. */
  rows?: number[];
  /** Which side rows refers to. */
  rowsIn?: 'train' | 'eval';
  /** The file (as the user named it) whose lines `rows` are, when known. */
  rowsFile?: string;
  fix?: DoctorFix;
}

export interface ClassBalanceEntry {
  label: string;
  train: number;
  eval: number;
  /** Share of the training rows. */
  share: number;
  /** sklearn's 'balanced' weight n / (k * count) over the training rows. */
  weight: number;
}

export interface ClassBalance {
  classes: ClassBalanceEntry[];
  /** Largest class count / smallest class count (training rows). */
  imbalanceRatio: number;
  imbalanced: boolean;
  /** The weights to use for a class-weighted loss, in label order; null when balanced. */
  suggestedClassWeights: number[] | null;
}

export interface TokenLengthBin {
  /** Inclusive lower bound in tokens. */
  from: number;
  /** Exclusive upper bound; null for the last, open bin. */
  to: number | null;
  count: number;
}

export interface TokenLengthReport {
  maxLength: number;
  /** Rows measured; less than the total when a sample was measured. */
  measured: number;
  total: number;
  bins: TokenLengthBin[];
  truncatedCount: number;
  /** Share of measured rows longer than maxLength (special tokens included). */
  truncatedShare: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface DoctorReport {
  trainCount: number;
  evalCount: number;
  /** True when some finding is blocking: training must not start. */
  blocking: boolean;
  findings: DoctorFinding[];
  classBalance: ClassBalance;
  tokenLengths: TokenLengthReport | null;
}

/** What the doctor examines, as it crosses the API: a source file with its mapping, or a prepared dataset. */
export type DoctorSource =
  | { kind: 'file'; file: string; mapping: DatasetMapping; split?: SplitSpec; /** The file's name as the user knows it. */ displayName?: string }
  | { kind: 'prepared'; id: string };

export interface DoctorOptions {
  /** Truncation length the run would use (default 128). */
  maxLength?: number;
  /** Classes with fewer training rows are reported (default 10). */
  minClassSize?: number;
}

/** Progress of a long dataset operation. */
export interface DataProgress {
  phase: string;
  done: number;
  total: number | null;
  unit: 'bytes' | 'rows';
  etaSeconds: number | null;
}
