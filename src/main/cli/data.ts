/**
 * `finetune data inspect FILE` and `finetune data doctor FILE [--model DIR|HUB_ID]`: the dataset
 * import and the data doctor on the command line, with the same data code the app's
 * inspectDataset / doctorDataset call (no database is opened). Exit codes: 0 ok, 1 failed (or the
 * doctor found a blocking problem), 2 usage error. --json prints one JSON document.
 */
import path from 'node:path';
import type { ColumnInfo, DataProgress, DatasetInspection, DatasetMapping, DoctorReport, SplitSpec } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { formatBytes, formatCount, formatPercent, plural } from '../../shared/format';
import { describeParse, doctorDataset, inspectDataset, resolveFormat, DEFAULT_MAX_LENGTH, DEFAULT_MIN_CLASS_SIZE } from '../data';
import { guarded, JSON_FLAG, parseArgs, UsageError, type CommandSpec } from './args';
import { COLUMN_FLAGS, COLUMN_NOTE, mappingFromArgs, READ_FLAGS, readOverrides, resolveColumn } from './dataset-flags';
import type { CliIo } from './io';
import { modelRef, resolveModelArg } from './model-arg';

export type { CliIo } from './io';

export const INSPECT_SPEC: CommandSpec = {
  path: 'data inspect',
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  summary: 'How a CSV, TSV or JSON lines file is read: its columns, the suggested text and label columns, the labels.',
  flags: { 'label-column': COLUMN_FLAGS['label-column']!, ...READ_FLAGS, json: JSON_FLAG },
  notes: [COLUMN_NOTE],
};

export const DOCTOR_SPEC: CommandSpec = {
  path: 'data doctor',
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  summary: 'The data doctor: duplicates, conflicting labels, leakage, imbalance, and token lengths with --model.',
  flags: {
    model: { kind: 'path', value: 'DIR|HUB_ID', help: 'a model folder or a Hub id (downloaded into the cache) whose tokenizer measures token lengths' },
    'max-length': { kind: 'number', integer: true, min: 8, max: 8192, value: 'N', help: `the max length the run would use (default ${DEFAULT_MAX_LENGTH})` },
    'min-class-size': { kind: 'number', integer: true, min: 1, max: 1_000_000, value: 'N', help: `report classes with fewer training rows (default ${DEFAULT_MIN_CLASS_SIZE})` },
    ...COLUMN_FLAGS,
    eval: { kind: 'path', value: 'FILE', help: 'a separate evaluation file' },
    'eval-ratio': { kind: 'number', value: 'R', help: 'share of each class held out for evaluation (0 < R < 1)' },
    seed: { kind: 'number', integer: true, min: 0, max: 2 ** 32 - 1, value: 'N', help: 'seed of the held-out split (default 42)' },
    ...READ_FLAGS,
    json: JSON_FLAG,
  },
  notes: [COLUMN_NOTE, 'The doctor exits with 1 when it finds a blocking problem.'],
};

const GROUP_USAGE = [
  'Usage:',
  '  finetune data inspect FILE [options]   how the file is read (finetune data inspect --help)',
  '  finetune data doctor FILE [options]    check it before training (finetune data doctor --help)',
];

export function progressPrinter(io: CliIo, enabled: boolean): ((p: DataProgress) => void) | undefined {
  if (!enabled) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 1000 && p.etaSeconds !== 0) return;
    last = now;
    const done = p.unit === 'bytes' ? formatBytes(p.done) : formatCount(p.done);
    const total = p.total === null ? '' : ` of ${p.unit === 'bytes' ? formatBytes(p.total) : formatCount(p.total)}`;
    const eta = p.etaSeconds !== null && p.etaSeconds > 0 ? `, about ${Math.ceil(p.etaSeconds)} s left` : '';
    io.err(`${p.phase}: ${done}${total}${p.unit === 'rows' ? ' rows' : ''}${eta}`);
  };
}

function printInspection(io: CliIo, r: DatasetInspection): void {
  io.out(`${r.file}`);
  io.out(`  ${formatBytes(r.sizeBytes)}, ${plural(r.rowCount, 'data row')}; read as ${describeParse(r)}`);
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
      `  ${String(c.index + 1).padStart(3)}  ${c.name.slice(0, width).padEnd(width)}  ${c.type.padEnd(8)}  ${`${formatCount(c.distinctCount)}${c.distinctCountCapped ? '+' : ''} distinct`.padEnd(16)}  ${samples}`,
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
    io.out(`Labels (${formatCount(r.labelCount)}${r.labelCountCapped ? '+' : ''}):`);
    const total = r.labelDistribution.reduce((a, l) => a + l.count, 0);
    const shown = r.labelDistribution.slice(0, 30);
    const w = Math.min(30, Math.max(...shown.map((l) => l.label.length)));
    for (const l of shown) io.out(`  ${l.label.slice(0, w).padEnd(w)}  ${formatCount(l.count).padStart(9)}  ${formatPercent(l.count / total).padStart(7)}`);
    if (r.labelDistribution.length > shown.length || r.labelCount > shown.length) io.out(`  ... ${formatCount(r.labelCount - shown.length)} more`);
  }
  if (r.skipped.count > 0) {
    io.out('');
    io.out(`Skipped rows (${formatCount(r.skipped.count)}):`);
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
  io.out(`  ${formatCount(report.trainCount)} training rows, ${formatCount(report.evalCount)} evaluation rows`);
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
    io.out(`  ${c.label.slice(0, w).padEnd(w)}  ${formatCount(c.train).padStart(9)}  ${formatCount(c.eval).padStart(9)}  ${formatPercent(c.share).padStart(7)}  ${c.weight.toFixed(3).padStart(7)}`);
  }
  if (report.classBalance.classes.length > classes.length) io.out(`  ... ${formatCount(report.classBalance.classes.length - classes.length)} more`);
  io.out(
    report.classBalance.imbalanced
      ? `  imbalanced (${report.classBalance.imbalanceRatio.toFixed(1)} to 1): suggested class weights ${report.classBalance.suggestedClassWeights!.map((x) => x.toFixed(3)).join(', ')}`
      : '  balanced: no class weights needed',
  );
  const t = report.tokenLengths;
  io.out('');
  if (!t) {
    io.out(model === null ? 'Token lengths: give --model DIR|HUB_ID (a model with its tokenizer) to measure them.' : 'Token lengths: no rows to measure.');
    return;
  }
  io.out(
    `Token lengths (${model ?? ''}, max length ${t.maxLength}${t.measured < t.total ? `, ${formatCount(t.measured)} of ${formatCount(t.total)} rows sampled` : ''}):`,
  );
  io.out(`  median ${t.p50}, 90 % ${t.p90}, 99 % ${t.p99}, longest ${t.max}; ${formatPercent(t.truncatedShare)} truncated`);
  const peak = Math.max(1, ...t.bins.map((b) => b.count));
  for (const b of t.bins) {
    const bar = '#'.repeat(Math.round((40 * b.count) / peak));
    const range = b.to === null ? `${b.from}+` : `${b.from}-${b.to - 1}`;
    io.out(`  ${range.padStart(9)}  ${formatCount(b.count).padStart(7)}  ${bar}`);
  }
}

async function runInspect(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(INSPECT_SPEC, argv, io);
  if (!args) return 0;
  const file = args.positional[0]!;
  const overrides = readOverrides(args);
  const labelSpec = args.string('label-column');
  const json = args.has('json');
  if (labelSpec !== undefined) {
    const { columnNames } = await resolveFormat(file, overrides);
    overrides.labelColumn = resolveColumn(labelSpec, columnNames, '--label-column');
  }
  const inspection = await inspectDataset(file, { overrides, onProgress: progressPrinter(io, io.isTTY && !json), signal: io.signal });
  if (json) io.out(JSON.stringify(inspection, null, 2));
  else printInspection(io, inspection);
  return 0;
}

async function runDoctor(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(DOCTOR_SPEC, argv, io);
  if (!args) return 0;
  const file = args.positional[0]!;
  const json = args.has('json');
  const maxLength = args.number('max-length') ?? DEFAULT_MAX_LENGTH;
  const minClassSize = args.number('min-class-size') ?? DEFAULT_MIN_CLASS_SIZE;
  const seed = args.number('seed') ?? 42;
  const evalFile = args.string('eval');
  const ratio = args.number('eval-ratio');
  if (evalFile !== undefined && ratio !== undefined) throw new UsageError('give either --eval FILE or --eval-ratio R, not both');
  if (ratio !== undefined && !(ratio > 0 && ratio < 1)) throw new UsageError('--eval-ratio must be a number between 0 and 1, e.g. 0.1');
  const split: SplitSpec | undefined = evalFile !== undefined ? { kind: 'file', evalFile } : ratio !== undefined ? { kind: 'ratio', evalRatio: ratio, seed } : undefined;
  const modelGiven = args.string('model');
  // The model first: a Hub id is resolved (downloaded) before the long read of the file.
  let countTokens: ((texts: string[]) => number[]) | undefined;
  let modelLabel: string | null = null;
  if (modelGiven !== undefined) {
    const ref = modelRef(modelGiven);
    const dir = await resolveModelArg(modelGiven, io);
    modelLabel = path.isAbsolute(ref) ? path.basename(ref) : ref;
    const { loadTokenizer } = await import('../engine/tokenizer');
    let tokenizer: Awaited<ReturnType<typeof loadTokenizer>>;
    try {
      tokenizer = await loadTokenizer(dir);
    } catch (err) {
      throw new AppError('invalid_input', `cannot load the tokenizer of ${modelGiven}: ${(err as Error).message}`);
    }
    countTokens = (texts) => texts.map((t) => tokenizer.countTokens(t));
  }
  const overrides = readOverrides(args);
  const onProgress = progressPrinter(io, io.isTTY && !json);
  const inspection = await inspectDataset(file, { overrides, onProgress, signal: io.signal });
  const mapping = mappingFromArgs(args, inspection);
  const report = await doctorDataset({ kind: 'file', file, mapping, split }, { maxLength, minClassSize, countTokens, split, onProgress, signal: io.signal });
  if (json) io.out(JSON.stringify({ file: inspection.file, mapping, report }, null, 2));
  else printDoctor(io, inspection.file, mapping, inspection.columns, report, modelLabel);
  const blocking = report.findings.find((f) => f.severity === 'blocking');
  if (blocking) {
    io.err(`finetune data doctor: ${blocking.title.toLowerCase()}; this data cannot be trained on as it is`);
    return 1;
  }
  return 0;
}

/** `finetune data ...`; returns the exit code. */
export async function dataCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  let where = 'data';
  return guarded(io, () => where, async () => {
    if (sub === 'help' || sub === '--help' || sub === '-h') {
      GROUP_USAGE.forEach((l) => io.out(l));
      return 0;
    }
    if (sub === 'inspect' || sub === 'doctor') {
      where = `data ${sub}`;
      return sub === 'inspect' ? runInspect(rest, io) : runDoctor(rest, io);
    }
    throw new UsageError(sub === undefined ? 'missing subcommand: inspect or doctor' : `unknown subcommand "${sub}": use inspect or doctor`);
  });
}

