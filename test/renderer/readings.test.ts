import { describe, expect, it } from 'vitest';
import type { DatasetInspection, ParseSettings } from '../../src/shared/dataset';
import { parseText, readingChoices } from '../../src/renderer/src/lib/readings';

const csv: ParseSettings = { format: 'delimited', encoding: 'utf-8', delimiter: ',', quoted: true, hasHeader: true };
const labelFirst: ParseSettings = { format: 'label-first', encoding: 'utf-8', delimiter: null, quoted: false, hasHeader: false };

function inspection(over: Partial<DatasetInspection>): Pick<DatasetInspection, 'parse' | 'columns' | 'alternatives' | 'ambiguous'> {
  return {
    parse: csv,
    columns: [{ name: 'text' }, { name: 'label' }] as DatasetInspection['columns'],
    alternatives: [{ parse: labelFirst, columns: ['label', 'text'], explainedShare: 0.97, description: 'one example per line as "LABEL text"' }],
    ambiguous: true,
    ...over,
  };
}

describe('reading choices (issue 12.5)', () => {
  it('offers the current reading and the alternatives when the file is ambiguous', () => {
    const r = readingChoices(inspection({}));
    expect(r.map((x) => [x.description, x.current])).toEqual([
      ['comma-separated, with a header', true],
      ['one example per line as "LABEL text"', false],
    ]);
    expect(r[1]!.parse).toEqual(labelFirst);
  });

  it('offers nothing when the file reads one way', () => {
    expect(readingChoices(inspection({ ambiguous: false }))).toEqual([]);
    expect(readingChoices(inspection({ alternatives: [] }))).toEqual([]);
    expect(readingChoices(inspection({ alternatives: [{ parse: csv, columns: [], explainedShare: 1, description: 'same' }] }))).toEqual([]);
  });

  it('describes a reading in words', () => {
    expect(parseText({ ...csv, delimiter: '\t', hasHeader: false })).toBe('tab-separated, no header');
    expect(parseText({ ...csv, quoted: false })).toBe('comma-separated, with a header, quotes read as text');
  });
});
