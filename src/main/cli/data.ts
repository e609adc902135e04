/**
 * `finetune data inspect FILE` and `finetune data doctor FILE --model DIR`: the dataset import
 * and the data doctor on the command line. Exit codes: 0 ok, 1 failed (or the doctor found a
 * blocking problem), 2 usage error. Errors are one line; --json prints one JSON document.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  ColumnInfo,
  DataProgress,
  DatasetInspection,
  DatasetMapping,
  Delimiter,
  DoctorReport,
  InspectOverrides,
  SplitSpec,
  TextEncoding,
} from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { describeParse, doctorDataset, inspectDataset, resolveFormat, DEFAULT_MAX_LENGTH, DEFAULT_MIN_CLASS_SIZE } from '../data';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  isTTY: boolean;
  /** Aborted on Ctrl-C by the caller. */
  signal?: AbortSignal;
}

const USAGE = [
  'Usage:',
  '  finetune data inspect FILE [--json] [read options]',
  '  finetune data doctor FILE [--model DIR] [--max-length N] [--min-class-size N]',
  '                       [--text-column COL]... [--label-column COL] [--eval FILE | --eval-ratio R [--seed N]]',
  '                       [--json] [read options]',
  '',
  'Read options (detected when left out):',
  '  --delimiter comma|semicolon|tab|pipe   --header | --no-header   --quoting | --no-quoting',
  '  --encoding utf-8|utf-16le|utf-16be|windows-1252   --format delimited|label-first|jsonl',
  '',
  'COL is a column name or its number as `data inspect` shows it (1 = first column).',
  'Several --text-column (or a comma list) are joined with a space. The doctor exits with 1',
  'when it finds a blocking problem.',
];

class UsageError extends Error {}

interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
  switches: Set<string>;
}

const VALUE_FLAGS = new Set([
  'delimiter',
  'encoding',
  'format',
  'text-column',
  'label-column',
  'model',
  'max-length',
  'min-class-size',
  'eval',
  'eval-ratio',
  'seed',
]);
const SWITCHES = new Set(['json', 'header', 'no-header', 'quoting', 'no-quoting', 'help']);

function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      switches.add('help');
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (SWITCHES.has(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      switches.add(name);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown option --${name}`);
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags, switches };
}

function single(args: ParsedArgs, name: string): string | undefined {
  const values = args.flags.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw new UsageError(`--${name} is given twice`);
  return values[0];
}

function integerFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const value = single(args, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return Number(value);
}

const DELIMITER_WORDS: Record<string, Delimiter> = {
  comma: ',',
  ',': ',',
  semicolon: ';',
  ';': ';',
  tab: '\t',
  '\\t': '\t',
  '\t': '\t',
  pipe: '|',
  '|': '|',
};
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

function readOverrides(args: ParsedArgs): InspectOverrides {
  const overrides: InspectOverrides = {};
  const delimiter = single(args, 'delimiter');
  if (delimiter !== undefined) {
    const d = DELIMITER_WORDS[delimiter.toLowerCase()] ?? DELIMITER_WORDS[delimiter];
    if (!d) throw new UsageError('--delimiter must be comma, semicolon, tab or pipe');
    overrides.delimiter = d;
    overrides.format = 'delimited';
  }
  const encoding = single(args, 'encoding');
  if (encoding !== undefined) {
    const e = ENCODINGS[encoding.toLowerCase()];
    if (!e) throw new UsageError('--encoding must be utf-8, utf-16le, utf-16be or windows-1252');
    overrides.encoding = e;
  }
  const format = single(args, 'format');
  if (format !== undefined) {
    if (format !== 'delimited' && format !== 'label-first' && format !== 'jsonl') throw new UsageError('--format must be delimited, label-first or jsonl');
    overrides.format = format;
  }
  if (args.switches.has('header') && args.switches.has('no-header')) throw new UsageError('--header and --no-header contradict each other');
  if (args.switches.has('header')) overrides.hasHeader = true;
  if (args.switches.has('no-header')) overrides.hasHeader = false;
  if (args.switches.has('quoting') && args.switches.has('no-quoting')) throw new UsageError('--quoting and --no-quoting contradict each other');
  if (args.switches.has('quoting')) overrides.quoted = true;
  if (args.switches.has('no-quoting')) overrides.quoted = false;
  return overrides;
}

/** A column given by name (case-insensitive) or by its 1-based number. */
function columnIndex(spec: string, columnNames: readonly string[], flag: string): number {
  const trimmed = spec.trim();
  const byName = columnNames.findIndex((name) => name.toLowerCase() === trimmed.toLowerCase());
  if (byName >= 0) return byName;
  if (/^\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n >= 1 && n <= columnNames.length) return n - 1;
  }
  throw new UsageError(`${flag} ${JSON.stringify(spec)}: no such column; the columns are ${columnNames.map((name, i) => `${i + 1} ${JSON.stringify(name)}`).join(', ')}`);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

const num = (n: number): string => n.toLocaleString('en-US');
const percent = (share: number): string => `${(100 * share).toFixed(1)} %`;

function progressPrinter(io: CliIo, enabled: boolean): ((p: DataProgress) => void) | undefined {
  if (!enabled) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 1000 && p.etaSeconds !== 0) return;
    last = now;
    const done = p.unit === 'bytes' ? formatBytes(p.done) : num(p.done);
    const total = p.total === null ? '' : ` of ${p.unit === 'bytes' ? formatBytes(p.total) : num(p.total)}`;
    const eta = p.etaSeconds !== null && p.etaSeconds > 0 ? `, about ${Math.ceil(p.etaSeconds)} s left` : '';
    io.err(`${p.phase}: ${done}${total}${p.unit === 'rows' ? ' rows' : ''}${eta}`);
  };
}

function printInspection(io: CliIo, r: DatasetInspection): void {
  io.out(`${r.file}`);
  io.out(`  ${formatBytes(r.sizeBytes)}, ${num(r.rowCount)} data row${r.rowCount === 1 ? '' : 's'}; read as ${describeParse(r)}`);
  if (r.encodingNote) io.out(`  note: ${r.encodingNote}`);
  io.out('');
  io.out('Columns:');
  const width = Math.min(30, Math.max(...r.columns.map((c) => c.name.length), 4));
  for (const c of r.columns) {
    const samples = c.sampleValues
      .slice(0, 3)
      .map((v) => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v))
      .join(', ');
    io.out(
      `  ${String(c.index + 1).padStart(3)}  ${c.name.slice(0, width).padEnd(width)}  ${c.type.padEnd(8)}  ${`${num(c.distinctCount)}${c.distinctCountCapped ? '+' : ''} distinct`.padEnd(16)}  ${samples}`,
    );
  }
  io.out('');
  const m = r.suggestedMapping;
  if (m) {
    const names = (cols: number[]): string => cols.map((i) => `${i + 1} "${r.columns[i]!.name}"`).join(' + ');
    io.out(`Suggested: text = ${names(m.textColumns)}; label = ${names([m.labelColumn])}${r.labelNamesSource ? ` (names from ${r.labelNamesSource})` : ''}`);
  } else io.out('Suggested: none (choose the text and label columns with --text-column and --label-column)');
  if (r.labelDistribution.length > 0) {
    io.out('');
    io.out(`Labels (${num(r.labelCount)}${r.labelCountCapped ? '+' : ''}):`);
    const total = r.labelDistribution.reduce((a, l) => a + l.count, 0);
    const shown = r.labelDistribution.slice(0, 30);
    const w = Math.min(30, Math.max(...shown.map((l) => l.label.length)));
    for (const l of shown) io.out(`  ${l.label.slice(0, w).padEnd(w)}  ${num(l.count).padStart(9)}  ${percent(l.count / total).padStart(7)}`);
    if (r.labelDistribution.length > shown.length || r.labelCount > shown.length) io.out(`  ... ${num(r.labelCount - shown.length)} more`);
  }
  if (r.skipped.count > 0) {
    io.out('');
    io.out(`Skipped rows (${num(r.skipped.count)}):`);
    for (const s of r.skipped.rows.slice(0, 10)) io.out(`  line ${s.line}: ${s.reason}`);
  }
  if (r.warnings.length > 0) {
    io.out('');
    io.out('Warnings:');
    for (const w of r.warnings) io.out(`  - ${w}`);
  }
}

function printDoctor(io: CliIo, file: string, mapping: DatasetMapping, columns: readonly ColumnInfo[], report: DoctorReport, model: string | null): void {
  const names = (cols: number[]): string => cols.map((i) => `"${columns[i]?.name ?? i + 1}"`).join(' + ');
  io.out(`Data doctor: ${file}`);
  io.out(`  text = ${names(mapping.textColumns)}; label = ${names([mapping.labelColumn])}`);
  io.out(`  ${num(report.trainCount)} training rows, ${num(report.evalCount)} evaluation rows`);
  io.out('');
  if (report.findings.length === 0) io.out('No problems found.');
  for (const f of report.findings) {
    io.out(`${f.severity.toUpperCase().padEnd(8)}  ${f.title}`);
    io.out(`          ${f.detail}`);
    if (f.rows && f.rows.length > 0) {
      io.out(`          ${f.rowsIn === 'eval' ? 'evaluation ' : ''}lines: ${f.rows.slice(0, 20).join(', ')}${f.affected > Math.min(20, f.rows.length) ? ', ...' : ''}`);
    }
    if (f.fix) io.out(`          fix: ${f.fix.label}`);
  }
  io.out('');
  io.out('Class balance:');
  const classes = report.classBalance.classes.slice(0, 50);
  const w = Math.min(30, Math.max(5, ...classes.map((c) => c.label.length)));
  io.out(`  ${'label'.padEnd(w)}  ${'train'.padStart(9)}  ${'eval'.padStart(9)}  ${'share'.padStart(7)}  ${'weight'.padStart(7)}`);
  for (const c of classes) {
    io.out(`  ${c.label.slice(0, w).padEnd(w)}  ${num(c.train).padStart(9)}  ${num(c.eval).padStart(9)}  ${percent(c.share).padStart(7)}  ${c.weight.toFixed(3).padStart(7)}`);
  }
  if (report.classBalance.classes.length > classes.length) io.out(`  ... ${num(report.classBalance.classes.length - classes.length)} more`);
  io.out(
    report.classBalance.imbalanced
      ? `  imbalanced (${report.classBalance.imbalanceRatio.toFixed(1)} to 1): suggested class weights ${report.classBalance.suggestedClassWeights!.map((x) => x.toFixed(3)).join(', ')}`
      : '  balanced: no class weights needed',
  );
  const t = report.tokenLengths;
  io.out('');
  if (!t) {
    io.out(model === null ? 'Token lengths: give --model DIR (a model folder with its tokenizer) to measure them.' : 'Token lengths: no rows to measure.');
    return;
  }
  io.out(
    `Token lengths (${path.basename(model ?? '')}, max length ${t.maxLength}${t.measured < t.total ? `, ${num(t.measured)} of ${num(t.total)} rows sampled` : ''}):`,
  );
  io.out(`  median ${t.p50}, 90 % ${t.p90}, 99 % ${t.p99}, longest ${t.max}; ${percent(t.truncatedShare)} truncated`);
  const peak = Math.max(1, ...t.bins.map((b) => b.count));
  for (const b of t.bins) {
    const bar = '#'.repeat(Math.round((40 * b.count) / peak));
    const range = b.to === null ? `${b.from}+` : `${b.from}-${b.to - 1}`;
    io.out(`  ${range.padStart(9)}  ${num(b.count).padStart(7)}  ${bar}`);
  }
}

async function runInspect(args: ParsedArgs, io: CliIo): Promise<number> {
  if (args.positional.length !== 1) throw new UsageError('data inspect needs exactly one FILE');
  const overrides = readOverrides(args);
  const labelSpec = single(args, 'label-column');
  const json = args.switches.has('json');
  const file = args.positional[0]!;
  if (labelSpec !== undefined) {
    const { columnNames } = await resolveFormat(file, overrides);
    overrides.labelColumn = columnIndex(labelSpec, columnNames, '--label-column');
  }
  const inspection = await inspectDataset(file, { overrides, onProgress: progressPrinter(io, io.isTTY && !json), signal: io.signal });
  if (json) io.out(JSON.stringify(inspection, null, 2));
  else printInspection(io, inspection);
  return 0;
}

async function runDoctor(args: ParsedArgs, io: CliIo): Promise<number> {
  if (args.positional.length !== 1) throw new UsageError('data doctor needs exactly one FILE');
  const file = args.positional[0]!;
  const json = args.switches.has('json');
  const maxLength = integerFlag(args, 'max-length', 8, 8192) ?? DEFAULT_MAX_LENGTH;
  const minClassSize = integerFlag(args, 'min-class-size', 1, 1_000_000) ?? DEFAULT_MIN_CLASS_SIZE;
  const seed = integerFlag(args, 'seed', 0, 2 ** 32 - 1) ?? 42;
  const evalFile = single(args, 'eval');
  const ratioText = single(args, 'eval-ratio');
  if (evalFile !== undefined && ratioText !== undefined) throw new UsageError('give either --eval FILE or --eval-ratio R, not both');
  let split: SplitSpec | undefined;
  if (evalFile !== undefined) split = { kind: 'file', evalFile };
  else if (ratioText !== undefined) {
    const ratio = Number(ratioText);
    if (!(ratio > 0 && ratio < 1)) throw new UsageError('--eval-ratio must be a number between 0 and 1, e.g. 0.1');
    split = { kind: 'ratio', evalRatio: ratio, seed };
  }
  const model = single(args, 'model') ?? null;
  if (model !== null && !fs.existsSync(model)) {
    throw new AppError('not_found', `the model folder ${model} does not exist; give a folder with tokenizer.json (or vocab files) and config.json`);
  }
  const overrides = readOverrides(args);
  const onProgress = progressPrinter(io, io.isTTY && !json);
  const inspection = await inspectDataset(file, { overrides, onProgress, signal: io.signal });
  const textSpecs = (args.flags.get('text-column') ?? []).flatMap((v) => v.split(',')).filter((v) => v.trim() !== '');
  const labelSpec = single(args, 'label-column');
  const suggested = inspection.suggestedMapping;
  const columnNames = inspection.columns.map((c) => c.name);
  const textColumns = textSpecs.length > 0 ? textSpecs.map((s) => columnIndex(s, columnNames, '--text-column')) : suggested?.textColumns;
  const labelColumn = labelSpec !== undefined ? columnIndex(labelSpec, columnNames, '--label-column') : suggested?.labelColumn;
  if (textColumns === undefined || labelColumn === undefined) {
    throw new AppError(
      'invalid_input',
      `${path.basename(file)}: ${inspection.warnings.find((w) => w.includes('column')) ?? 'the text and label columns could not be guessed'} Give them with --text-column and --label-column.`,
    );
  }
  if (new Set(textColumns).size !== textColumns.length) throw new UsageError('a --text-column is given twice');
  if (textColumns.includes(labelColumn)) throw new UsageError('the label column cannot also be a text column');
  const mapping: DatasetMapping = {
    textColumns,
    textSeparator: ' ',
    labelColumn,
    ...(suggested?.labelNames && labelColumn === suggested.labelColumn ? { labelNames: suggested.labelNames } : {}),
    parse: inspection.parse,
  };
  let countTokens: ((texts: string[]) => number[]) | undefined;
  if (model !== null) {
    const { loadTokenizer } = await import('../engine/tokenizer');
    let tokenizer: Awaited<ReturnType<typeof loadTokenizer>>;
    try {
      tokenizer = await loadTokenizer(model);
    } catch (err) {
      throw new AppError('invalid_input', `cannot load the tokenizer of ${model}: ${(err as Error).message}`);
    }
    countTokens = (texts) => texts.map((t) => tokenizer.countTokens(t));
  }
  const report = await doctorDataset(
    { kind: 'file', file, mapping, split },
    { maxLength, minClassSize, countTokens, split, onProgress, signal: io.signal },
  );
  if (json) io.out(JSON.stringify({ file: inspection.file, mapping, report }, null, 2));
  else printDoctor(io, inspection.file, mapping, inspection.columns, report, model);
  if (report.blocking) {
    io.err(`error: ${report.findings.find((f) => f.severity === 'blocking')!.title.toLowerCase()}; this data cannot be trained on as it is`);
    return 1;
  }
  return 0;
}

/** `finetune data ...`; returns the exit code. */
export async function dataCommand(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.err(`error: ${(err as Error).message} (run \`finetune data help\` for the options)`);
    return 2;
  }
  const [sub, ...rest] = args.positional;
  if (args.switches.has('help') || sub === 'help') {
    for (const line of USAGE) io.out(line);
    return 0;
  }
  try {
    if (sub === 'inspect') return await runInspect({ ...args, positional: rest }, io);
    if (sub === 'doctor') return await runDoctor({ ...args, positional: rest }, io);
    throw new UsageError(sub === undefined ? 'missing subcommand: inspect or doctor' : `unknown subcommand "${sub}": use inspect or doctor`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message} (run \`finetune data help\` for the options)`);
      return 2;
    }
    if (err instanceof AppError) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    io.err(`error: unexpected failure (${(err as Error).message ?? String(err)}); please report it`);
    return 1;
  }
}
