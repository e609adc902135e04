/**
 * The format detector never silently misreads: the reading that explains the header and the
 * most lines wins, a broken quote is reported at its line (kept as text, the rest parsed
 * normally), and two readings that fit equally are offered to the user. The CSV record parser is
 * checked on input split at every awkward place.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectDataset, readRecords, resolveFormat } from '../../src/main/data';
import { CsvRecordParser, type CsvRecord } from '../../src/main/data/csv';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-format-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const DATASETS = path.resolve(__dirname, '../../../shared/datasets');

function parseInChunks(text: string, chunk: number, quoted = true): CsvRecord[] {
  const out: CsvRecord[] = [];
  const p = new CsvRecordParser({ delimiter: ',', quoted, maxRecordChars: 1 << 20 }, (r) => void out.push(r));
  for (let i = 0; i < text.length; i += chunk) p.push(text.slice(i, i + chunk));
  p.end();
  return out;
}

describe('CSV record parser', () => {
  const text = 'text,label\r\n"two\r\nlines, here",a\r\n"say ""hi""",b\rplain,c\n"broken, never,d\n"x, y",e\n"last"';
  it('gives the same records and lines however the input is split', () => {
    const whole = parseInChunks(text, text.length);
    expect(whole.map((r) => [r.line, ...r.fields])).toEqual([
      [1, 'text', 'label'],
      [2, 'two\r\nlines, here', 'a'],
      [4, 'say "hi"', 'b'],
      [5, 'plain', 'c'],
      [6, '"broken', ' never', 'd'],
      [7, 'x, y', 'e'],
      [8, 'last'],
    ]);
    expect(whole.map((r) => r.brokenQuoteLine)).toEqual([null, null, null, null, 6, null, null]);
    for (const size of [1, 2, 3, 5, 7, 13]) expect(parseInChunks(text, size), `chunks of ${size}`).toEqual(whole);
  });
  it('reads every quote as text when quoting is off', () => {
    expect(parseInChunks('"a, b",c\n', 3, false).map((r) => r.fields)).toEqual([['"a', ' b"', 'c']]);
  });
});

describe('format detection', () => {
  it('real AG News texts with 1,000 label values under a text,label header are two columns, not "LABEL text"', async () => {
    const source = path.join(DATASETS, 'ag_news/train_5k.csv');
    const format = await resolveFormat(source);
    const lines = ['text,label'];
    let i = 0;
    await readRecords(format, {
      record: ({ fields }) => {
        const t = `${fields[1]} ${fields[2]}`;
        // Quoted only when needed, as spreadsheets and pandas write it.
        lines.push(`${/[",\r\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t},${['World', 'Sports', 'Business', 'Tech'][i % 4]}${i++ % 1000}`);
      },
    });
    const file = path.join(work, 'ag-1000.csv');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await inspectDataset(file);
    expect(r.parse).toMatchObject({ format: 'delimited', delimiter: ',', hasHeader: true });
    expect(r.columns.map((c) => c.name)).toEqual(['text', 'label']);
    expect(r.skipped.count).toBe(0);
    expect(r.rowCount).toBe(lines.length - 1);
    expect(r.labelCount).toBe(1000);
  });

  it('an ambiguous file offers the other reading, and choosing it through the overrides reads it that way', async () => {
    const file = path.resolve(__dirname, '../fixtures/data/headerless-two-readings.csv');
    const r = await inspectDataset(file);
    expect(r.ambiguous).toBe(true);
    const other = r.alternatives[0]!;
    expect(other.parse.format).toBe('label-first');
    expect(other.explainedShare).toBeGreaterThan(0.95);
    const chosen = await inspectDataset(file, { overrides: other.parse });
    expect(chosen.parse).toEqual(other.parse);
    expect(chosen.ambiguous).toBe(false);
    expect(chosen.alternatives).toEqual([]);
    expect(chosen.columns.map((c) => c.name)).toEqual(['label', 'text']);
  });

  it('names the line of a quote never closed, as a typed field', async () => {
    const r = await inspectDataset(path.resolve(__dirname, '../fixtures/data/unclosed-quote-line-4.csv'));
    expect(r.brokenQuotes).toEqual({ count: 1, lines: [4] });
    expect(r.parse.quoted).toBe(true);
  });

  it('label-first files stay label-first (SST-2, TREC)', async () => {
    for (const f of ['sst2/stsa.binary.dev', 'trec/TREC_10.label']) {
      const r = await inspectDataset(path.join(DATASETS, f));
      expect(r.parse.format, f).toBe('label-first');
      expect(r.ambiguous, f).toBe(false);
    }
  });

  it("Excel's sep=; first line names the delimiter and is not read as data (BOM and UTF-16 too)", async () => {
    // Excel for other locales writes semicolon CSV with "sep=;" first; the texts hold commas, so
    // without the line the comma split would be tried, and with the line read as the header the
    // file has one column.
    const rows = ['text;label', 'good, really good;pos', 'bad, sadly;neg', '"semi; colon";pos', 'bad apple, worse pear;neg', 'fine, fine;pos', 'dull, but;neg'];
    const csv = `sep=;\r\n${rows.join('\r\n')}\r\n`;
    const files = {
      plain: Buffer.from(csv, 'utf8'),
      bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv, 'utf8')]),
      utf16: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]),
    };
    for (const [kind, bytes] of Object.entries(files)) {
      const file = path.join(work, `excel-sep-${kind}.csv`);
      fs.writeFileSync(file, bytes);
      const r = await inspectDataset(file);
      expect(r.parse, kind).toMatchObject({ format: 'delimited', delimiter: ';', hasHeader: true });
      expect(r.columns.map((c) => c.name), kind).toEqual(['text', 'label']);
      expect(r.rowCount, kind).toBe(rows.length - 1);
      expect(r.skipped.count, kind).toBe(0);
      const read: { line: number; fields: string[] }[] = [];
      await readRecords(await resolveFormat(file), { record: ({ line, fields }) => void read.push({ line, fields }) });
      // Lines are the file's own: the header is line 2, the first example line 3.
      expect(read[0], kind).toEqual({ line: 3, fields: ['good, really good', 'pos'] });
      expect(read[2]!.fields, kind).toEqual(['semi; colon', 'pos']);
    }
    // A delimiter the user picks wins over the line; the line is still not data.
    const forced = await resolveFormat(path.join(work, 'excel-sep-plain.csv'), { delimiter: ',' });
    expect(forced.settings.delimiter).toBe(',');
    expect(forced.dataOffset).toBe('sep=;\r\n'.length);
    const first: string[][] = [];
    await readRecords(forced, { record: ({ fields }) => void first.push(fields) });
    expect(first.flat()).not.toContain('sep=;');
  });
});
