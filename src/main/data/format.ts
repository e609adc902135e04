/**
 * Format detection from the first 256 KiB of a file: encoding, layout (CSV/TSV, label-first
 * lines, JSON lines), delimiter, quoting and header. Whatever the user overrides is kept as is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseSync } from 'csv-parse/sync';
import type { Delimiter, FileFormat, ParseOverrides, ParseSettings, TextEncoding } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
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
  /** False when the user forced the encoding (then invalid UTF-8 is an error, not a fallback). */
  encodingDetected: boolean;
  encodingNote: string | null;
  /** Column names (header, JSON keys, or generated "column N"). */
  columnNames: string[];
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
  quotedFieldSeen: boolean;
}

function tryDelimited(text: string, delimiter: Delimiter, quoted: boolean): DelimitedCandidate {
  let errors = 0;
  let records: string[][] = [];
  try {
    records = parseSync(text, {
      delimiter,
      quote: quoted ? '"' : false,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: () => {
        errors++;
      },
      record_delimiter: ['\r\n', '\n', '\r'],
      to: SAMPLE_RECORDS,
      bom: false,
    }) as string[][];
  } catch {
    errors++;
  }
  records = records.filter((r) => r.some((f) => f.trim() !== ''));
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
  const score = consistency - (2 * errors) / total;
  let quotedFieldSeen = false;
  if (quoted) {
    const re = new RegExp(`(^|[${delimiter === '\t' ? '\\t' : delimiter === '|' ? '\\|' : delimiter}\\r\\n])"`);
    quotedFieldSeen = re.test(text);
  }
  return { delimiter, quoted, records, modeColumns, consistency, errors, score, quotedFieldSeen };
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
      if (without.score > withQuotes.score + 1e-9) pick = without;
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
function looksLabelFirst(lines: string[]): boolean {
  if (lines.length === 0) return false;
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
  if (matched < 2 || matched < lines.length * 0.95) return false;
  const distinct = labels.size;
  // Files sorted by label may show a single label in the sample (rt-polarity starts with 5,331 "0" lines).
  if (distinct === 1) return matched >= 10 && /^[+-]?\d+$/.test([...labels.keys()][0]!);
  return distinct <= Math.max(2, Math.min(1000, matched * 0.3)) && labelChars / matched <= 40;
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

/** Detects how to read a file, keeping every setting the user overrides. */
export async function resolveFormat(file: string, overrides: ParseOverrides = {}): Promise<ResolvedFormat> {
  const abs = path.resolve(file);
  const name = path.basename(abs);
  const { head, size } = await readHead(abs, SAMPLE_BYTES);
  if (size === 0) {
    throw new AppError('invalid_input', `${name} is empty (0 bytes). Choose a file with a text column and a label column.`);
  }
  const wholeFile = head.length >= size;
  const guess = guessEncoding(head, abs, wholeFile);
  const encoding: TextEncoding = overrides.encoding ?? guess.encoding;
  const encodingDetected = overrides.encoding === undefined;
  const bomLength = encodingDetected ? guess.bomLength : bomLengthFor(encoding, head);
  let text = decodeSample(head.subarray(bomLength), encoding).replaceAll('\u0000', '');
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
  if (format === null || format === 'delimited') {
    delimited = bestDelimited(text, abs, overrides);
    if (format === null) {
      // `LABEL text` lines often hold commas too (SST-2: "0 simplistic , silly ."), so a
      // plausible label-first layout wins over a comma split; a clean tab split does not.
      const labelFirst = looksLabelFirst(lines);
      if (delimited && delimited.score >= 0.9 && (delimited.delimiter === '\t' || !labelFirst || hasLabelLikeColumn(delimited.records))) {
        format = 'delimited';
      }
      else if (labelFirst && !(delimited && delimited.score >= 0.5 && hasLabelLikeColumn(delimited.records))) format = 'label-first';
      else if (delimited && delimited.score >= 0.5) format = 'delimited';
      else throw new AppError('unsupported', `${name}: ${UNSUPPORTED_LAYOUT}`);
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
      sizeBytes: size,
      settings: { ...settingsBase, format, hasHeader: true },
      bomLength,
      encodingDetected,
      encodingNote: encodingDetected ? guess.note : null,
      columnNames: uniqueColumnNames(jsonKeys, jsonKeys.length),
    };
  }
  if (format === 'label-first') {
    return {
      file: abs,
      sizeBytes: size,
      settings: { ...settingsBase, format, hasHeader: false },
      bomLength,
      encodingDetected,
      encodingNote: encodingDetected ? guess.note : null,
      columnNames: ['label', 'text'],
    };
  }
  // delimited
  if (!delimited) throw new AppError('unsupported', `${name}: ${UNSUPPORTED_LAYOUT}`);
  const records = delimited.records;
  const hasHeader = overrides.hasHeader ?? (records.length > 0 && looksLikeHeader(records[0]!, records.slice(1, 201)));
  const columnCount = Math.max(1, delimited.modeColumns, hasHeader && records[0] ? effectiveLength(records[0]) : 0);
  return {
    file: abs,
    sizeBytes: size,
    settings: { format: 'delimited', encoding, delimiter: delimited.delimiter, quoted: delimited.quoted, hasHeader },
    bomLength,
    encodingDetected,
    encodingNote: encodingDetected ? guess.note : null,
    columnNames: uniqueColumnNames(hasHeader && records[0] ? records[0] : [], columnCount),
  };
}
