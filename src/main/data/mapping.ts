/**
 * Applying a mapping: each record becomes (line, text, raw label). The text is the chosen
 * columns joined by the separator, empty parts left out; NUL characters are already gone.
 */
import type { DatasetMapping } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { resolveFormat, type ResolvedFormat } from './format';
import { readRecords, type ReadOptions, type ReadSummary } from './records';

export interface MappedRow {
  line: number;
  text: string;
  /** As found in the file (not trimmed); '' when missing. */
  label: string;
}

export function joinTextColumns(fields: readonly string[], mapping: Pick<DatasetMapping, 'textColumns' | 'textSeparator'>): string {
  const parts: string[] = [];
  for (const index of mapping.textColumns) {
    const value = (fields[index] ?? '').trim();
    if (value !== '') parts.push(value);
  }
  return parts.join(mapping.textSeparator);
}

/** Checks that the mapping's columns exist in the file. */
export function checkMappingColumns(mapping: DatasetMapping, format: ResolvedFormat, field = 'mapping'): void {
  const count = format.columnNames.length;
  const name = format.displayName;
  const describe = (i: number): string => `column ${i + 1}`;
  for (const i of mapping.textColumns) {
    if (i >= count) {
      throw new AppError('invalid_input', `${name} has ${count} column${count === 1 ? '' : 's'}; the text ${describe(i)} does not exist. Inspect the file again and choose its columns.`, `${field}.textColumns`);
    }
  }
  if (mapping.labelColumn >= count) {
    throw new AppError('invalid_input', `${name} has ${count} column${count === 1 ? '' : 's'}; the label ${describe(mapping.labelColumn)} does not exist. Inspect the file again and choose its columns.`, `${field}.labelColumn`);
  }
  if (mapping.textColumns.includes(mapping.labelColumn)) {
    throw new AppError('invalid_input', `the label column (${format.columnNames[mapping.labelColumn]}) cannot also be a text column`, `${field}.labelColumn`);
  }
}

/**
 * A mapping for a second file (the evaluation file) made from the training mapping: columns are
 * matched by header name when both files have headers, otherwise kept by position.
 */
export function mappingForSecondFile(mapping: DatasetMapping, trainFormat: ResolvedFormat, evalFormat: ResolvedFormat): DatasetMapping {
  const byName = trainFormat.settings.hasHeader && evalFormat.settings.hasHeader && trainFormat.settings.format !== 'label-first';
  if (!byName) return { ...mapping, parse: undefined };
  const lookup = (i: number, what: string): number => {
    const name = trainFormat.columnNames[i]!;
    const j = evalFormat.columnNames.findIndex((n) => n.toLowerCase() === name.toLowerCase());
    if (j < 0) {
      throw new AppError(
        'invalid_input',
        `${evalFormat.displayName} has no column named "${name}" (the ${what} column of ${trainFormat.displayName}). Its columns are: ${evalFormat.columnNames.join(', ')}. Give the evaluation file the same header, or map its columns yourself.`,
        'split.evalMapping',
      );
    }
    return j;
  };
  return {
    ...mapping,
    textColumns: mapping.textColumns.map((i) => lookup(i, 'text')),
    labelColumn: lookup(mapping.labelColumn, 'label'),
    parse: undefined,
  };
}

export interface MappedReadResult {
  format: ResolvedFormat;
  summary: ReadSummary;
}

/** Reads a file through a mapping; onRow gets every row (empty texts and labels included). */
export async function readMappedRows(
  format: ResolvedFormat,
  mapping: DatasetMapping,
  onRow: (row: MappedRow) => void,
  options: ReadOptions & { reset?: () => void; field?: string } = {},
): Promise<MappedReadResult> {
  checkMappingColumns(mapping, format, options.field);
  const summary = await readRecords(
    format,
    {
      record: ({ line, fields }) => {
        onRow({ line, text: joinTextColumns(fields, mapping), label: fields[mapping.labelColumn] ?? '' });
      },
      reset: options.reset,
    },
    options,
  );
  return { format: summary.format, summary };
}

/** resolveFormat with the mapping's own parse overrides. */
export function resolveMappedFormat(file: string, mapping: DatasetMapping): Promise<ResolvedFormat> {
  return resolveFormat(file, mapping.parse ?? {});
}
