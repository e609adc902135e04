/**
 * The flags every command that reads a dataset shares (train, eval, data inspect|doctor): how to
 * read the file, and which columns hold the text and the label. One column rule for all of them:
 * a column is its header name (case-insensitive) or its 1-based number as `data inspect` shows it.
 */
import type { DatasetInspection, DatasetMapping, Delimiter, InspectOverrides, TextEncoding } from '../../shared/dataset';
import { UsageError, type Args, type FlagDef } from './args';

export const READ_FLAGS: Record<string, FlagDef> = {
  delimiter: { kind: 'string', value: 'D', help: 'field separator: comma, semicolon, tab or pipe (detected when left out)' },
  header: { kind: 'switch', help: 'the first row names the columns' },
  'no-header': { kind: 'switch', help: 'the first row is data' },
  quoting: { kind: 'switch', help: '"..." quotes a field' },
  'no-quoting': { kind: 'switch', help: 'quotes are plain text' },
  encoding: { kind: 'string', value: 'ENC', help: 'utf-8, utf-16le, utf-16be or windows-1252' },
  format: { kind: 'string', value: 'F', help: 'how rows are laid out', choices: ['delimited', 'label-first', 'jsonl'] },
};

export const COLUMN_FLAGS: Record<string, FlagDef> = {
  'text-column': { kind: 'string', value: 'COL', repeat: true, help: 'text column(s), joined with a space; a name or a number (1 = first)' },
  'label-column': { kind: 'string', value: 'COL', help: 'label column; a name or a number (1 = first)' },
};

export const COLUMN_NOTE = 'COL is a column name (any case) or its number as `finetune data inspect` shows it (1 = first column).';

const DELIMITERS: Record<string, Delimiter> = { comma: ',', ',': ',', semicolon: ';', ';': ';', tab: '\t', '\\t': '\t', '\t': '\t', pipe: '|', '|': '|' };
const ENCODINGS: Record<string, TextEncoding> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  latin1: 'windows-1252',
  'iso-8859-1': 'windows-1252',
};

/** The read options given on the command line (what the user forces instead of what is detected). */
export function readOverrides(args: Args): InspectOverrides {
  const o: InspectOverrides = {};
  const delimiter = args.string('delimiter');
  if (delimiter !== undefined) {
    const d = DELIMITERS[delimiter.toLowerCase()] ?? DELIMITERS[delimiter];
    if (!d) throw new UsageError('--delimiter must be comma, semicolon, tab or pipe');
    o.delimiter = d;
    o.format = 'delimited';
  }
  const encoding = args.string('encoding');
  if (encoding !== undefined) {
    const e = ENCODINGS[encoding.toLowerCase()];
    if (!e) throw new UsageError('--encoding must be utf-8, utf-16le, utf-16be or windows-1252');
    o.encoding = e;
  }
  const format = args.string('format');
  if (format !== undefined) o.format = format as InspectOverrides['format'];
  if (args.has('header') && args.has('no-header')) throw new UsageError('--header and --no-header contradict each other');
  if (args.has('header')) o.hasHeader = true;
  if (args.has('no-header')) o.hasHeader = false;
  if (args.has('quoting') && args.has('no-quoting')) throw new UsageError('--quoting and --no-quoting contradict each other');
  if (args.has('quoting')) o.quoted = true;
  if (args.has('no-quoting')) o.quoted = false;
  return o;
}

/** A column by name (exact first, then any case) or by 1-based number. */
export function resolveColumn(spec: string, columnNames: readonly string[], flag: string): number {
  const want = spec.trim();
  const exact = columnNames.indexOf(want);
  if (exact >= 0) return exact;
  const byName = columnNames.findIndex((name) => name.toLowerCase() === want.toLowerCase());
  if (byName >= 0) return byName;
  if (/^\d+$/.test(want)) {
    const n = Number(want);
    if (n >= 1 && n <= columnNames.length) return n - 1;
  }
  throw new UsageError(`${flag} ${JSON.stringify(spec)}: no such column; the columns are ${columnNames.map((name, i) => `${i + 1} ${JSON.stringify(name)}`).join(', ')}`);
}

/** The suggested mapping with --text-column / --label-column applied. */
export function mappingFromArgs(args: Args, inspection: DatasetInspection): DatasetMapping {
  const names = inspection.columns.map((c) => c.name);
  const base = inspection.suggestedMapping;
  const textSpecs = args.list('text-column');
  const labelSpec = args.string('label-column');
  const textColumns = textSpecs.length ? textSpecs.map((s) => resolveColumn(s, names, '--text-column')) : base?.textColumns;
  const labelColumn = labelSpec !== undefined ? resolveColumn(labelSpec, names, '--label-column') : base?.labelColumn;
  if (!textColumns?.length) throw new UsageError(`${inspection.fileName}: no text column was found; name it with --text-column`);
  if (labelColumn === undefined) throw new UsageError(`${inspection.fileName}: no label column was found; name it with --label-column`);
  if (new Set(textColumns).size !== textColumns.length) throw new UsageError('a --text-column is given twice');
  if (textColumns.includes(labelColumn)) throw new UsageError('the label column cannot also be a text column');
  return {
    textColumns,
    textSeparator: base?.textSeparator ?? ' ',
    labelColumn,
    ...(base?.labelNames && labelColumn === base.labelColumn ? { labelNames: base.labelNames } : {}),
    parse: inspection.parse,
  };
}
