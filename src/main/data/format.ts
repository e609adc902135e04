/**
 * Format detection from the first 256 KiB of a file: encoding, layout (CSV/TSV, label-first
 * lines, JSON lines), delimiter, quoting and header. Whatever the user overrides is kept as is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DELIMITERS, type Delimiter, type FileFormat, type FormatAlternative, type ParseOverrides, type ParseSettings, type TextEncoding } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { parseCsvText } from './csv';
import { displayFileName } from './names';
import { bomLengthFor, decodeSample, guessEncoding } from './encoding';

export const SAMPLE_BYTES = 256 * 1024;
const SAMPLE_RECORDS = 1000;
/** Characters of the sample tried with each delimiter (the full sample is slower to parse 8 times). */
const CANDIDATE_CHARS = 64 * 1024;

/** Everything the reader needs: the public settings plus what detection learned. */
export interface ResolvedFormat {
  file: string;
  sizeBytes: number;
  settings: ParseSettings;
  bomLength: number;
  /** The delimiter named by an Excel `sep=X` first line (that line is not data), or null. */
  sepLine: Delimiter | null;
  /** Bytes before the first data line: the byte-order mark and a `sep=` line. */
  dataOffset: number;
  /** False when the user forced the encoding (then invalid UTF-8 is an error, not a fallback). */
  encodingDetected: boolean;
  encodingNote: string | null;
  /** The name the user knows the file by, for messages (see names.ts). */
  displayName: string;
  /** Column names (header, JSON keys, or generated "column N"). */
  columnNames: string[];
  /** Other plausible readings of the file (none when the layout was given). */
  alternatives: FormatAlternative[];
  /** True when an alternative reads the file about as well as the chosen settings. */
  ambiguous: boolean;
}

export const DELIMITER_NAMES: Record<Delimiter, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

const NUMBER_RE = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;
export function isNumeric(value: string): boolean {
  return NUMBER_RE.test(value);
}

export function generatedColumnName(index: number): string {
  return `column ${index + 1}`;
}

/** Header names made usable: trimmed, never empty, never twice the same. */
export function uniqueColumnNames(raw: readonly string[], count: number): string[] {
  const names: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    let name = (raw[i] ?? '').trim() || generatedColumnName(i);
    const key = name.toLowerCase();
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n > 1) name = `${name} (${n})`;
    names.push(name);
  }
  return names;
}

async function readHead(file: string, bytes: number): Promise<{ head: Buffer; size: number }> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('not_found', `${file} does not exist. Check the path and try again.`);
    if (code === 'EACCES' || code === 'EPERM') throw new AppError('io', `${file} cannot be read (permission denied).`);
    throw new AppError('io', `${file} cannot be read: ${(err as Error).message}`);
  }
  if (stat.isDirectory()) throw new AppError('invalid_input', `${file} is a folder; choose a .csv, .tsv, .txt or .jsonl file.`);
  const fh = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(bytes, stat.size));
    let filled = 0;
    while (filled < head.length) {
      const { bytesRead } = await fh.read(head, filled, head.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { head: head.subarray(0, filled), size: stat.size };
  } finally {
    await fh.close();
  }
}

/** Non-blank lines of a sample. */
function sampleLines(text: string, max: number): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.trim() === '') continue;
    out.push(line);
    if (out.length >= max) break;
  }
  return out;
}

interface DelimitedCandidate {
  delimiter: Delimiter;
  quoted: boolean;
  records: string[][];
  modeColumns: number;
  consistency: number;
  errors: number;
  score: number;
  /** A quoted field closed cleanly. */
  quotedFieldSeen: boolean;
  /** Cleanly quoted fields that hold a delimiter or a line break: the file really uses CSV quoting. */
  meaningfulQuotes: number;
  /** Lines (of the sample) where a quote was never closed properly. */
  brokenQuoteLines: number[];
}

function tryDelimited(text: string, delimiter: Delimiter, quoted: boolean): DelimitedCandidate {
  const { records: parsed, parser } = parseCsvText(text, { delimiter, quoted, maxRecords: SAMPLE_RECORDS });
  const brokenQuoteLines = parsed.filter((r) => r.brokenQuoteLine !== null).map((r) => r.brokenQuoteLine!);
  const records = parsed.map((r) => r.fields).filter((r) => r.some((f) => f.trim() !== ''));
  // A record fits k columns when k lies between its length without trailing empty fields and
  // its full length ("a,b,," fits 2, 3 or 4). The column count is the k most records fit.
  const fits = new Map<number, number>();
  for (const r of records) {
    for (let k = effectiveLength(r); k <= r.length; k++) fits.set(k, (fits.get(k) ?? 0) + 1);
  }
  let modeColumns = 0;
  let modeCount = 0;
  for (const [k, c] of fits) {
    if (c > modeCount || (c === modeCount && k < modeColumns)) {
      modeColumns = k;
      modeCount = c;
    }
  }
  const total = Math.max(1, records.length);
  const consistency = modeColumns >= 2 ? modeCount / total : 0;
  // A quote read as text counts against quoting (a file that does not quote reads the same either way).
  const errors = quoted ? parser.literalQuotes : 0;
  const score = consistency - (2 * errors) / total;
  return {
    delimiter,
    quoted,
    records,
    modeColumns,
    consistency,
    errors,
    score,
    quotedFieldSeen: parser.cleanQuotedFields > 0,
    meaningfulQuotes: parser.meaningfulQuotedFields,
    brokenQuoteLines,
  };
}

/** Record length without trailing empty fields ("a,b,," is 2 fields, as spreadsheets export them). */
export function effectiveLength(fields: readonly string[]): number {
  let n = fields.length;
  while (n > 1 && fields[n - 1] === '') n--;
  return n;
}

function delimiterOrder(file: string): Delimiter[] {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return ['\t', ',', ';', '|'];
  return [',', '\t', ';', '|'];
}

function bestDelimited(text: string, file: string, overrides: ParseOverrides): DelimitedCandidate | null {
  const delimiters: Delimiter[] = overrides.delimiter ? [overrides.delimiter] : delimiterOrder(file);
  let best: DelimitedCandidate | null = null;
  for (const delimiter of delimiters) {
    const quoteModes = overrides.quoted === undefined ? [true, false] : [overrides.quoted];
    const candidates = quoteModes.map((q) => tryDelimited(text, delimiter, q));
    let pick = candidates[0]!;
    if (candidates.length === 2) {
      const [withQuotes, without] = candidates as [DelimitedCandidate, DelimitedCandidate];
      // Quoted fields that hold the delimiter or a line break show the file uses CSV quoting: a
      // few broken quotes (read as text, and reported) do not turn quoting off for the whole file.
      const quotingUsed =
        withQuotes.meaningfulQuotes > 0 &&
        withQuotes.consistency >= 0.9 &&
        withQuotes.brokenQuoteLines.length <= Math.max(2, 0.05 * withQuotes.records.length);
      if (quotingUsed) pick = withQuotes;
      else if (without.score > withQuotes.score + 1e-9) pick = without;
      else if (withQuotes.score > without.score + 1e-9) pick = withQuotes;
      else if (delimiter === '\t') {
        // TSV usually does not quote: read quotes as text unless the sample quotes fields cleanly.
        pick = withQuotes.quotedFieldSeen && withQuotes.errors === 0 ? withQuotes : without;
      } else pick = withQuotes;
    }
    if (pick.modeColumns < 2 && !overrides.delimiter) continue;
    if (!best || pick.score > best.score + 1e-9) best = pick;
  }
  return best;
}

/** Whether some column of the split records has a few repeated values, as a label column does. */
function hasLabelLikeColumn(records: readonly string[][]): boolean {
  const rows = records.slice(1);
  if (rows.length < 4) return true;
  const width = Math.max(...rows.map((r) => r.length));
  for (let j = 0; j < width; j++) {
    const distinct = new Set(rows.map((r) => (r[j] ?? '').trim())).size;
    if (distinct >= 2 && distinct <= Math.max(2, rows.length * 0.3)) return true;
  }
  return false;
}

const LABEL_FIRST_RE = /^(\S+)[ \t]+(\S.*)$/;

/** `LABEL text` per line: most lines match, and the first words are few and short. */
function labelFirstReading(lines: string[]): { plausible: boolean; share: number } {
  if (lines.length === 0) return { plausible: false, share: 0 };
  const labels = new Map<string, number>();
  let matched = 0;
  let labelChars = 0;
  for (const line of lines) {
    const m = LABEL_FIRST_RE.exec(line);
    if (!m) continue;
    matched++;
    labelChars += m[1]!.length;
    labels.set(m[1]!, (labels.get(m[1]!) ?? 0) + 1);
  }
  const share = matched / lines.length;
  if (matched < 2 || matched < lines.length * 0.95) return { plausible: false, share };
  const distinct = labels.size;
  // Files sorted by label may show a single label in the sample (rt-polarity starts with 5,331 "0" lines).
  if (distinct === 1) return { plausible: matched >= 10 && /^[+-]?\d+$/.test([...labels.keys()][0]!), share };
  return { plausible: distinct <= Math.max(2, Math.min(1000, matched * 0.3)) && labelChars / matched <= 40, share };
}

/**
 * Whether some column holds short values (at most 3 words, 40 characters) beside a column of
 * longer texts: a label column, even when it has many distinct values (1,000 classes).
 */
function hasShortLabelColumn(records: readonly string[][], width: number): boolean {
  const rows = records.slice(1).filter((r) => r.length >= width);
  if (rows.length < 4 || width < 2) return false;
  const meanLength = (j: number): number => rows.reduce((a, r) => a + r[j]!.trim().length, 0) / rows.length;
  for (let j = 0; j < width; j++) {
    const short = rows.filter((r) => {
      const v = r[j]!.trim();
      return v !== '' && v.length <= 40 && v.split(/\s+/).length <= 3;
    }).length;
    if (short < 0.95 * rows.length) continue;
    const mine = meanLength(j);
    for (let k = 0; k < width; k++) if (k !== j && meanLength(k) >= 2 * Math.max(1, mine)) return true;
  }
  return false;
}

/** A header that names its columns the way headers do (text, label, review, class...). */
function headerNamesColumns(first: readonly string[], rest: readonly (readonly string[])[]): boolean {
  return first.some((v) => COMMON_HEADER_RE.test(v.trim())) && looksLikeHeader(first, rest);
}

function looksJsonLines(lines: string[]): { ok: boolean; keys: string[]; badLine: number | null } {
  const keys: string[] = [];
  const seen = new Set<string>();
  let objects = 0;
  let badLine: number | null = null;
  lines.forEach((line, i) => {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        objects++;
        for (const key of Object.keys(value)) {
          if (!seen.has(key) && keys.length < 1000) {
            seen.add(key);
            keys.push(key);
          }
        }
        return;
      }
    } catch {
      // counted below
    }
    badLine ??= i;
  });
  return { ok: lines.length > 0 && objects >= lines.length * 0.5, keys, badLine };
}

/** Names that columns usually have: a first row made of them is a header. */
const COMMON_HEADER_RE =
  /^(text|texts|label|labels|class|category|sentence|review|content|description|title|message|comment|question|answer|id|target|y|x|sentiment|intent|tag|topic|emotion|polarity|body|document|tweet|headline|abstract|summary|utterance|query|subject|input|output|rating|score|name|date|source|url|language|lang)([ _-]?(id|name|text|label))?$/i;

/** Whether the first record names the columns, judged against the records below it. */
export function looksLikeHeader(first: readonly string[], rest: readonly (readonly string[])[]): boolean {
  const values = first.map((v) => v.trim());
  if (values.length === 0) return false;
  const distinctHeader = new Set(values.map((v) => v.toLowerCase())).size === values.length;
  if (rest.length === 0) {
    return distinctHeader && values.every((v) => v !== '' && !isNumeric(v) && v.length <= 60);
  }
  let score = distinctHeader ? 0 : -2;
  values.forEach((h, j) => {
    const column = rest.map((r) => (r[j] ?? '').trim()).filter((v) => v !== '');
    if (h === '') {
      score -= 1;
      return;
    }
    if (COMMON_HEADER_RE.test(h)) score += 2;
    if (column.length === 0) return;
    if (column.every(isNumeric)) {
      score += isNumeric(h) ? -2 : 2;
      return;
    }
    if (isNumeric(h)) score -= 1;
    const distinct = new Set(column);
    if (distinct.size <= 20 && column.length >= 1.5 * distinct.size) {
      score += distinct.has(h) ? -2 : 1;
      return;
    }
    const lengths = column.map((v) => v.length).sort((a, b) => a - b);
    const median = lengths[Math.floor(lengths.length / 2)]!;
    if (h.length <= 40 && h.length < 0.5 * median) score += 1;
    else score -= 1;
  });
  return score > 0;
}

const UNSUPPORTED_LAYOUT =
  'could not find columns: the lines are not split by a comma, semicolon, tab or |, and they do not start with a label followed by a space. A training file needs a text and a label on each line, for example `text,label` with one example per line.';

/** Excel's first line naming the delimiter ("sep=;"), which Excel writes for other locales' CSV. */
const SEP_LINE_RE = /^sep=(.)(\r\n|\n|\r)/i;

/** The `sep=X` line at the start of a decoded sample, when X is a delimiter the reader knows. */
function excelSepLine(text: string, encoding: TextEncoding): { delimiter: Delimiter; bytes: number } | null {
  const m = SEP_LINE_RE.exec(text);
  if (!m || !(DELIMITERS as readonly string[]).includes(m[1]!)) return null;
  const bytes = encoding.startsWith('utf-16') ? 2 * m[0].length : Buffer.byteLength(m[0], 'utf8');
  return { delimiter: m[1] as Delimiter, bytes };
}

/** Detects how to read a file, keeping every setting the user overrides. */
export async function resolveFormat(file: string, requested: ParseOverrides = {}, displayName?: string): Promise<ResolvedFormat> {
  const abs = path.resolve(file);
  const name = displayFileName(abs, displayName);
  const { head, size } = await readHead(abs, SAMPLE_BYTES);
  if (size === 0) {
    throw new AppError('invalid_input', `${name} is empty (0 bytes). Choose a file with a text column and a label column.`);
  }
  const wholeFile = head.length >= size;
  const guess = guessEncoding(head, name, wholeFile); // the name only: for its messages
  const encoding: TextEncoding = requested.encoding ?? guess.encoding;
  const encodingDetected = requested.encoding === undefined;
  const bomLength = encodingDetected ? guess.bomLength : bomLengthFor(encoding, head);
  let text = decodeSample(head.subarray(bomLength), encoding).replaceAll('\u0000', '');
  // Excel's `sep=;` line names the delimiter and is not data: skip it, and read the columns it names
  // (unless the user chose another layout or delimiter).
  const sep = requested.format === undefined || requested.format === 'delimited' ? excelSepLine(text, encoding) : null;
  if (sep) text = text.slice(SEP_LINE_RE.exec(text)![0].length);
  const overrides: ParseOverrides = sep ? { format: 'delimited', ...requested, delimiter: requested.delimiter ?? sep.delimiter } : requested;
  const sepFields = { sepLine: sep ? sep.delimiter : null, dataOffset: bomLength + (sep ? sep.bytes : 0) };
  if (!wholeFile) {
    const lastBreak = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    if (lastBreak > 0) text = text.slice(0, lastBreak + 1);
  }
  if (text.trim() === '') {
    throw new AppError('invalid_input', `${name} holds only blank lines or spaces. Choose a file with a text column and a label column.`);
  }
  if (text.length > CANDIDATE_CHARS) {
    const cut = Math.max(text.lastIndexOf('\n', CANDIDATE_CHARS), text.lastIndexOf('\r', CANDIDATE_CHARS));
    if (cut > 0) text = text.slice(0, cut + 1);
  }
  const lines = sampleLines(text, SAMPLE_RECORDS);
  const ext = path.extname(abs).toLowerCase();

  let format: FileFormat | null = overrides.format ?? null;
  let jsonKeys: string[] = [];
  if (format === null || format === 'jsonl') {
    const jsonLike = ext === '.jsonl' || ext === '.ndjson' || (lines[0] ?? '').trimStart().startsWith('{');
    if (jsonLike || format === 'jsonl') {
      const probe = looksJsonLines(lines);
      if (probe.ok) {
        format = 'jsonl';
        jsonKeys = probe.keys;
      } else if (format === 'jsonl' || ext === '.jsonl' || ext === '.ndjson') {
        throw new AppError(
          'invalid_input',
          `${name}: most lines are not JSON objects (the first bad one is non-blank line ${(probe.badLine ?? 0) + 1}). A .jsonl file holds one object per line, like {"text": "...", "label": "..."}.`,
        );
      }
    }
  }

  let delimited: DelimitedCandidate | null = null;
  let alternatives: FormatAlternative[] = [];
  let ambiguous = false;
  if (format === null || format === 'delimited') {
    delimited = bestDelimited(text, abs, overrides);
    if (format === null) {
      const choice = chooseLayout(delimited, labelFirstReading(lines));
      if (!choice) throw new AppError('unsupported', `${name}: ${UNSUPPORTED_LAYOUT}`);
      format = choice.format;
      ambiguous = choice.ambiguous;
      if (choice.alternative && delimited) {
        alternatives = [
          choice.alternative === 'label-first'
            ? {
                parse: { format: 'label-first', encoding, delimiter: null, quoted: false, hasHeader: false },
                columns: ['label', 'text'],
                explainedShare: choice.labelFirstShare,
                description: 'one example per line as "LABEL text": the first word of each line is its label',
              }
            : delimitedAlternative(delimited, encoding),
        ];
      }
    }
  }

  const settingsBase = { encoding, quoted: false, delimiter: null } as const;
  if (format === 'jsonl') {
    if (jsonKeys.length === 0) {
      const probe = looksJsonLines(lines);
      jsonKeys = probe.keys;
    }
    if (jsonKeys.length === 0) {
      throw new AppError('invalid_input', `${name}: no JSON object with fields was found in the first lines; each line needs an object like {"text": "...", "label": "..."}.`);
    }
    return {
      file: abs,
      displayName: name,
      sizeBytes: size,
      settings: { ...settingsBase, format, hasHeader: true },
      bomLength,
      ...sepFields,
      encodingDetected,
      encodingNote: encodingDetected ? guess.note : null,
      columnNames: uniqueColumnNames(jsonKeys, jsonKeys.length),
      alternatives: [],
      ambiguous: false,
    };
  }
  if (format === 'label-first') {
    return {
      file: abs,
      displayName: name,
      sizeBytes: size,
      settings: { ...settingsBase, format, hasHeader: false },
      bomLength,
      ...sepFields,
      encodingDetected,
      encodingNote: encodingDetected ? guess.note : null,
      columnNames: ['label', 'text'],
      alternatives,
      ambiguous,
    };
  }
  // delimited
  if (!delimited) throw new AppError('unsupported', `${name}: ${UNSUPPORTED_LAYOUT}`);
  const records = delimited.records;
  const hasHeader = overrides.hasHeader ?? (records.length > 0 && looksLikeHeader(records[0]!, records.slice(1, 201)));
  const columnCount = Math.max(1, delimited.modeColumns, hasHeader && records[0] ? effectiveLength(records[0]) : 0);
  return {
    file: abs,
    displayName: name,
    sizeBytes: size,
    settings: { format: 'delimited', encoding, delimiter: delimited.delimiter, quoted: delimited.quoted, hasHeader },
    bomLength,
    ...sepFields,
    encodingDetected,
    encodingNote: encodingDetected ? guess.note : null,
    columnNames: uniqueColumnNames(hasHeader && records[0] ? records[0] : [], columnCount),
    alternatives,
    ambiguous,
  };
}

function delimitedAlternative(d: DelimitedCandidate, encoding: TextEncoding): FormatAlternative {
  const hasHeader = d.records.length > 0 && looksLikeHeader(d.records[0]!, d.records.slice(1, 201));
  const columnCount = Math.max(1, d.modeColumns, hasHeader && d.records[0] ? effectiveLength(d.records[0]) : 0);
  return {
    parse: { format: 'delimited', encoding, delimiter: d.delimiter, quoted: d.quoted, hasHeader },
    columns: uniqueColumnNames(hasHeader && d.records[0] ? d.records[0] : [], columnCount),
    explainedShare: d.consistency,
    description: `${DELIMITER_NAMES[d.delimiter]}-separated columns${hasHeader ? ' with a header row' : ''}`,
  };
}

interface LayoutChoice {
  format: 'delimited' | 'label-first';
  ambiguous: boolean;
  alternative: 'delimited' | 'label-first' | null;
  labelFirstShare: number;
}

/**
 * Delimited columns or `LABEL text` lines: the reading that explains the header and the most
 * lines wins. `LABEL text` lines often hold commas too (SST-2: "0 simplistic , silly ."), so a
 * comma split must show a label column (few repeated values, or short values beside long texts)
 * or a header naming its columns; a `LABEL text` reading cannot explain a header line at all.
 * When both readings explain the file equally, the choice is marked ambiguous for the user.
 */
function chooseLayout(d: DelimitedCandidate | null, lf: { plausible: boolean; share: number }): LayoutChoice | null {
  const base = { labelFirstShare: lf.share };
  const dOk = d !== null && d.score >= 0.5;
  if (!lf.plausible) {
    if (!dOk) return null;
    return { ...base, format: 'delimited', ambiguous: false, alternative: null };
  }
  if (!dOk) return { ...base, format: 'label-first', ambiguous: false, alternative: null };
  const first = d.records[0] ?? [];
  const header = d.score >= 0.7 && headerNamesColumns(first, d.records.slice(1, 201));
  const labelColumn = hasLabelLikeColumn(d.records) || hasShortLabelColumn(d.records, d.modeColumns);
  if (header) return { ...base, format: 'delimited', ambiguous: false, alternative: 'label-first' };
  if (d.score >= 0.9 && d.delimiter === '\t') return { ...base, format: 'delimited', ambiguous: false, alternative: 'label-first' };
  if (!labelColumn) return { ...base, format: 'label-first', ambiguous: false, alternative: 'delimited' };
  // Both readings find a label column and neither explains a header: close when they read
  // about as many lines; the columns are preferred, and the user is asked.
  const close = Math.abs(d.consistency - lf.share) <= 0.05;
  if (d.score >= 0.9) return { ...base, format: 'delimited', ambiguous: close, alternative: 'label-first' };
  return { ...base, format: 'label-first', ambiguous: close, alternative: 'delimited' };
}
