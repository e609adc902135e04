/**
 * The cells of a predictions CSV (the input's columns, then the predicted label, its confidence
 * and one probability column per class), and a labelled file read whole for `finetune eval`.
 */
import type { ParseOverrides } from '../../shared/dataset';
import type { Prediction } from '../engine/inference';
import { resolveFormat, readRecords } from '../data';
import { ownValue } from '../../shared/own';

export interface Table {
  columns: string[];
  rows: { line: number; fields: string[] }[];
}

export async function readTable(file: string, overrides: ParseOverrides, signal?: AbortSignal): Promise<Table> {
  const format = await resolveFormat(file, overrides);
  const rows: Table['rows'] = [];
  await readRecords(
    format,
    {
      record: (r) => {
        rows.push({ line: r.line, fields: r.fields.slice() });
      },
      reset: () => {
        rows.length = 0;
      },
    },
    { signal },
  );
  return { columns: format.columnNames, rows };
}

/** RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface CsvWriteOptions {
  /**
   * Neutralise spreadsheet formulas (default true): a cell starting with = + - @, a tab or a
   * carriage return is written as '<cell>, quoted (OWASP's rule for CSV injection), so Excel,
   * LibreOffice and Sheets show it as text. Plain numbers ("-1.5") are left as they are. false
   * writes every cell verbatim (for tools that read the CSV as data, not a spreadsheet).
   */
  csvInjectionSafe?: boolean;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** True when a spreadsheet could read the cell as a formula. */
export function looksLikeFormula(value: string): boolean {
  return FORMULA_START.test(value) && !PLAIN_NUMBER.test(value);
}

/** One cell: quoted as RFC 4180 says and, unless raw, with a formula neutralised ('=1+1 -> "'=1+1"). */
export function csvCell(value: string, options: CsvWriteOptions = {}): string {
  if (options.csvInjectionSafe !== false && looksLikeFormula(value)) return `"'${value.replace(/"/g, '""')}"`;
  return csvField(value);
}

export function predictionColumns(inputColumns: readonly string[], labels: readonly string[]): string[] {
  const taken = new Set(inputColumns);
  const unique = (name: string): string => {
    let n = name;
    for (let i = 2; taken.has(n); i++) n = `${name}_${i}`;
    taken.add(n);
    return n;
  };
  return [...inputColumns, unique('predicted_label'), unique('confidence'), ...labels.map((l) => unique(`prob_${l}`))];
}

/** The cells after the input columns: label, confidence, one probability per class (empty when there is no prediction). */
export function predictionCells(p: Prediction | null, labels: readonly string[]): string[] {
  if (!p) return ['', '', ...labels.map(() => '')];
  return [p.label, p.score.toFixed(6), ...labels.map((l) => (ownValue(p.scores, l) ?? 0).toFixed(6))];
}

/** One CSV record, CRLF-terminated (RFC 4180); formulas neutralised unless options.csvInjectionSafe is false. */
export function csvLine(cells: readonly string[], options: CsvWriteOptions = {}): string {
  return cells.map((c) => csvCell(c, options)).join(',') + '\r\n';
}
