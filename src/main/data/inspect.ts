/**
 * inspectDataset: one streaming pass over a file that tells the user how it was read (encoding,
 * layout, delimiter, header), its columns with types and samples, the suggested mapping, the
 * label distribution, and every row that could not be read. previewDataset: the first rows.
 */
import type { DatasetInspection, DatasetMapping, DatasetPreview, InspectOverrides, LabelCount } from '../../shared/dataset';
import { ColumnStats, suggestColumns } from './columns';
import { DELIMITER_NAMES, resolveFormat } from './format';
import { describeVariants, LabelNormaliser, labelNamesBesideFile, integerCode } from './labels';
import type { LongTaskOptions } from './progress';
import { readRecords, type ReadSummary } from './records';

const DISTRIBUTION_LIMIT = 1000;

export interface InspectOptions extends LongTaskOptions {
  overrides?: InspectOverrides;
  /** The file's name as the user knows it (a web upload's original name), for messages. */
  displayName?: string;
}

function splitOverrides(overrides: InspectOverrides = {}): { parse: Omit<InspectOverrides, 'labelColumn'>; labelColumn?: number } {
  const { labelColumn, ...parse } = overrides;
  return { parse, labelColumn };
}

export function describeSkipped(summary: Pick<ReadSummary, 'skipped'>, fileName: string): string[] {
  const { count, rows } = summary.skipped;
  if (count === 0) return [];
  const shown = rows.slice(0, 5).map((r) => `line ${r.line}: ${r.reason}`);
  const more = count > shown.length ? ` (and ${(count - shown.length).toLocaleString('en-US')} more)` : '';
  return [`${count.toLocaleString('en-US')} row${count === 1 ? '' : 's'} of ${fileName} could not be read and ${count === 1 ? 'was' : 'were'} skipped${more}: ${shown.join('; ')}.`];
}

export function describeNuls(summary: Pick<ReadSummary, 'nulLines'>): string[] {
  const { count, lines } = summary.nulLines;
  if (count === 0) return [];
  return [`NUL characters were removed from ${count.toLocaleString('en-US')} row${count === 1 ? '' : 's'} (line${lines.length === 1 ? '' : 's'} ${lines.slice(0, 10).join(', ')}${count > 10 ? ', ...' : ''}).`];
}

export function describeBrokenQuotes(summary: Pick<ReadSummary, 'brokenQuotes'>, fileName: string): string[] {
  const { count, lines } = summary.brokenQuotes;
  if (count === 0) return [];
  const where = `line${lines.length === 1 ? '' : 's'} ${lines.slice(0, 10).join(', ')}${count > lines.length ? ', ...' : ''}`;
  return [
    `${fileName}: a quote opened on ${where} is never closed. ${count === 1 ? 'That line was' : 'Those lines were'} read with the quote as part of the text, and the lines after ${count === 1 ? 'it' : 'them'} were read normally. Close the quote (and double any quote inside a quoted text) to read ${count === 1 ? 'it' : 'them'} as intended.`,
  ];
}

export async function inspectDataset(file: string, options: InspectOptions = {}): Promise<DatasetInspection> {
  const startedAt = Date.now();
  const { parse, labelColumn: labelOverride } = splitOverrides(options.overrides);
  const format = await resolveFormat(file, parse, options.displayName);
  const fileName = format.displayName;
  let stats: ColumnStats[] = [];
  const reset = (): void => {
    stats = format.columnNames.map(() => new ColumnStats());
  };
  reset();
  const summary = await readRecords(
    format,
    {
      record: ({ fields }) => {
        for (let i = 0; i < stats.length; i++) stats[i]!.add(fields[i] ?? '');
      },
      reset,
    },
    { ...options, phase: 'inspecting' },
  );
  const used = summary.format;
  const columns = used.columnNames.map((name, i) => stats[i]!.info(i, name));
  const warnings: string[] = [...describeSkipped(summary, fileName), ...describeBrokenQuotes(summary, fileName), ...describeNuls(summary)];
  if (summary.records === 0) warnings.push(`${fileName} has no data rows${used.settings.hasHeader ? ' below its header' : ''}.`);

  if (used.ambiguous && used.alternatives[0]) {
    warnings.push(
      `${fileName} can be read in two ways that fit it about equally well: as ${describeParse({ parse: used.settings })}, or as ${used.alternatives[0].description}. Check the preview and choose how to read it.`,
    );
  }
  const suggestion = suggestColumns(used.columnNames, stats, used.settings.format);
  if (suggestion.problem) warnings.push(suggestion.problem);
  const labelColumn = labelOverride !== undefined && labelOverride < stats.length ? labelOverride : suggestion.mapping?.labelColumn;

  let labelNames: Record<string, string> | undefined;
  let labelNamesSource: string | null = null;
  const distribution: LabelCount[] = [];
  let labelCount = 0;
  let labelCountCapped = false;
  if (labelColumn !== undefined) {
    const counts = stats[labelColumn]!.valueCounts;
    if (counts) {
      const codes = [...counts.keys()];
      if (codes.length > 0 && codes.every((c) => integerCode(c) !== null)) {
        const found = labelNamesBesideFile(used.file, codes);
        if (found) {
          labelNames = found.names;
          labelNamesSource = found.source;
        }
      }
      const normaliser = new LabelNormaliser(labelNames);
      for (const [value, count] of counts) normaliser.add(value, 0, 'train', count);
      const finished = normaliser.finish();
      labelCount = finished.labels.length;
      finished.labels.forEach((label, i) => distribution.push({ label, count: finished.counts[i]! }));
      distribution.sort((a, b) => b.count - a.count);
      distribution.splice(DISTRIBUTION_LIMIT);
      warnings.push(...describeVariants(finished.variants));
      if (labelCount === 1) warnings.push(`The label column has a single value ("${finished.labels[0]}"); a classifier needs at least two labels.`);
    } else {
      labelCountCapped = true;
      labelCount = stats[labelColumn]!.distinctCount;
      warnings.push(
        `The label column "${used.columnNames[labelColumn]}" has more than 20,000 different values or very long values; is it really the label?`,
      );
    }
    const empty = stats[labelColumn]!.empty;
    if (empty > 0) warnings.push(`${empty.toLocaleString('en-US')} row${empty === 1 ? ' has' : 's have'} no label; they will be left out.`);
  }

  let suggestedMapping: DatasetMapping | null = null;
  if (suggestion.mapping) {
    suggestedMapping = {
      ...suggestion.mapping,
      ...(labelNames && labelColumn === suggestion.mapping.labelColumn ? { labelNames } : {}),
      parse: { ...used.settings },
    };
  }

  return {
    file: used.file,
    fileName,
    sizeBytes: used.sizeBytes,
    parse: used.settings,
    encodingNote: used.encodingNote,
    rowCount: summary.records,
    columns,
    suggestedMapping,
    labelNamesSource,
    labelDistribution: distribution,
    labelCount,
    labelCountCapped,
    skipped: summary.skipped,
    brokenQuotes: summary.brokenQuotes,
    warnings,
    alternatives: used.alternatives,
    ambiguous: used.ambiguous,
    elapsedMs: Date.now() - startedAt,
  };
}

/** One line describing how the file is read, e.g. "CSV, comma-separated, quoted fields, header, UTF-8". */
export function describeParse(inspection: Pick<DatasetInspection, 'parse'>): string {
  const p = inspection.parse;
  const enc = { 'utf-8': 'UTF-8', 'utf-16le': 'UTF-16 LE', 'utf-16be': 'UTF-16 BE', 'windows-1252': 'Windows-1252' }[p.encoding];
  if (p.format === 'jsonl') return `JSON lines, ${enc}`;
  if (p.format === 'label-first') return `one example per line as "LABEL text", ${enc}`;
  const delimiter = p.delimiter ? DELIMITER_NAMES[p.delimiter] : 'comma';
  return `${delimiter}-separated, ${p.quoted ? 'quoted fields' : 'no quoting'}, ${p.hasHeader ? 'header row' : 'no header'}, ${enc}`;
}

export interface PreviewOptions extends LongTaskOptions {
  limit?: number;
  overrides?: InspectOverrides;
}

/** The first rows of a file, as the reader sees them with the given settings. */
export async function previewDataset(file: string, options: PreviewOptions = {}): Promise<DatasetPreview> {
  const limit = Math.max(1, Math.min(1000, options.limit ?? 20));
  const format = await resolveFormat(file, splitOverrides(options.overrides).parse);
  let rows: DatasetPreview['rows'] = [];
  const summary = await readRecords(
    format,
    {
      record: ({ line, fields }) => {
        rows.push({ line, values: fields });
        return rows.length < limit;
      },
      reset: () => {
        rows = [];
      },
    },
    { signal: options.signal, onProgress: options.onProgress, phase: 'previewing' },
  );
  return { parse: summary.format.settings, columns: summary.format.columnNames, rows };
}
