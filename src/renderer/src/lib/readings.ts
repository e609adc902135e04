/**
 * The ways a file can be read, in words (issue 12.5): when the detector cannot tell two readings
 * apart (inspection.ambiguous), the Data step lets the user choose.
 */
import type { DatasetInspection, ParseSettings } from '../../../shared/dataset';

export interface Reading {
  parse: ParseSettings;
  description: string;
  /** Column names this reading finds. */
  columns: string[];
  /** The one the file is read with now. */
  current: boolean;
}

/** "comma-separated, with a header", "tab-separated, no header", "JSON lines", "label first, then the text". */
export function parseText(p: ParseSettings): string {
  if (p.format === 'jsonl') return 'JSON lines';
  if (p.format === 'label-first') return 'label first, then the text';
  const sep = p.delimiter === '\t' ? 'tab' : p.delimiter === ',' ? 'comma' : p.delimiter === ';' ? 'semicolon' : p.delimiter === '|' ? 'pipe' : `"${p.delimiter}"`;
  return `${sep}-separated, ${p.hasHeader ? 'with a header' : 'no header'}${p.quoted ? '' : ', quotes read as text'}`;
}

function sameParse(a: ParseSettings, b: ParseSettings): boolean {
  return a.format === b.format && a.delimiter === b.delimiter && a.quoted === b.quoted && a.hasHeader === b.hasHeader && a.encoding === b.encoding;
}

/** The readings to choose from: the current one first, then the alternatives; empty when the file reads one way only. */
export function readingChoices(inspection: Pick<DatasetInspection, 'parse' | 'columns' | 'alternatives' | 'ambiguous'>): Reading[] {
  if (!inspection.ambiguous || inspection.alternatives.length === 0) return [];
  const current: Reading = { parse: inspection.parse, description: parseText(inspection.parse), columns: inspection.columns.map((c) => c.name), current: true };
  const others = inspection.alternatives
    .filter((a) => !sameParse(a.parse, inspection.parse))
    .map((a) => ({ parse: a.parse, description: a.description || parseText(a.parse), columns: a.columns, current: false }));
  return others.length ? [current, ...others] : [];
}
