/**
 * The streaming reader at its edges: CRLF and multi-byte characters split across the 1 MiB read
 * chunks, UTF-16 surrogate pairs split likewise, invalid UTF-8 found after the detection sample
 * (restart as Windows-1252 without double counting), progress, and cancellation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataProgress } from '../../src/shared/dataset';
import { AppError } from '../../src/shared/errors';
import { inspectDataset, prepareDataset, readRecords, resolveFormat, type DataRecord } from '../../src/main/data';

const MiB = 1 << 20;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-reader-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Rows "row N <padding>,label" with CRLF; a row is padded so its CR is the last byte of a chunk. */
function buildBoundaryFile(): { bytes: Buffer; rows: number; raggedLine: number; wideRow: number } {
  const parts: Buffer[] = [];
  let size = 0;
  let row = 0;
  const push = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    parts.push(b);
    size += b.length;
  };
  push('text,label\r\n');
  let crAtBoundary = false;
  let wideRow = -1;
  while (size < 2.5 * MiB) {
    const base = `row ${row} some filler words here,${row % 2 ? 'odd' : 'even'}`;
    if (!crAtBoundary && size + 200 > MiB) {
      // Pad this row so that its "\r" is byte MiB - 1 and its "\n" byte MiB.
      const prefix = `row ${row} `;
      const suffix = `,${row % 2 ? 'odd' : 'even'}`;
      const fill = MiB - 1 - size - Buffer.byteLength(prefix) - Buffer.byteLength(suffix);
      push(`${prefix}${'p'.repeat(fill)}${suffix}\r\n`);
      crAtBoundary = true;
      row++;
      continue;
    }
    if (wideRow < 0 && size + 200 > 2 * MiB) {
      // Put a 3-byte character across the second chunk boundary.
      const prefix = `row ${row} `;
      const fill = 2 * MiB - 1 - size - Buffer.byteLength(prefix);
      push(`${prefix}${'q'.repeat(fill)}€ wide,${row % 2 ? 'odd' : 'even'}\r\n`);
      wideRow = row;
      row++;
      continue;
    }
    push(`${base}\r\n`);
    row++;
  }
  const raggedLine = row + 2;
  push('ragged,row,here\r\n');
  push(`"quoted\r\nfinal",even\r\n`);
  return { bytes: Buffer.concat(parts), rows: row + 1, raggedLine, wideRow };
}

describe('streaming reader', () => {
  it('handles a CRLF and a 3-byte character split across read chunks, keeping line numbers true', async () => {
    const { bytes, rows, raggedLine, wideRow } = buildBoundaryFile();
    expect(bytes[MiB - 1]).toBe(0x0d);
    expect(bytes[MiB]).toBe(0x0a);
    expect(bytes.subarray(2 * MiB - 1, 2 * MiB + 2).toString('utf8')).toBe('€');
    const file = path.join(work, 'boundary.csv');
    fs.writeFileSync(file, bytes);
    const format = await resolveFormat(file);
    const records: DataRecord[] = [];
    const summary = await readRecords(format, { record: (r) => void records.push(r) });
    expect(records).toHaveLength(rows);
    records.slice(0, -1).forEach((r, i) => {
      expect(r.line).toBe(i + 2);
      expect(r.fields[0]!.startsWith(`row ${i} `)).toBe(true);
    });
    expect(records[wideRow]!.fields[0]!.endsWith('€ wide')).toBe(true);
    expect(summary.skipped.rows).toEqual([{ line: raggedLine, reason: '3 fields where 2 were expected' }]);
    expect(records.at(-1)).toEqual({ line: raggedLine + 1, fields: ['quoted\r\nfinal', 'even'] });
  });

  it('reads UTF-16 LE with a surrogate pair split across chunks', async () => {
    // Pad the first row until one emoji (4 bytes) straddles the first 1 MiB read.
    let content: Buffer | null = null;
    let rows = 0;
    for (let pad = 0; pad < 40 && !content; pad++) {
      const lines = ['text,label', `${'x'.repeat(pad)} first,a`];
      while (lines.length < 30_000) lines.push(`emoji 😀 row ${lines.length},${lines.length % 2 ? 'a' : 'b'}`);
      const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${lines.join('\n')}\n`, 'utf16le')]);
      const straddles = [MiB - 2].some((p) => bytes[p] === 0x3d && bytes[p + 1] === 0xd8);
      if (straddles) {
        content = bytes;
        rows = lines.length - 1;
      }
    }
    expect(content).not.toBeNull();
    const file = path.join(work, 'utf16.csv');
    fs.writeFileSync(file, content!);
    const inspection = await inspectDataset(file);
    expect(inspection.parse.encoding).toBe('utf-16le');
    expect(inspection.rowCount).toBe(rows);
    const format = await resolveFormat(file);
    let broken = 0;
    let emojis = 0;
    await readRecords(format, {
      record: (r) => {
        if (r.fields[0]!.includes('\ufffd')) broken++;
        if (r.fields[0]!.includes('😀')) emojis++;
      },
    });
    expect(broken).toBe(0);
    expect(emojis).toBe(rows - 1);
  });

  it('restarts as Windows-1252 when invalid UTF-8 appears after the detection sample, counting each row once', async () => {
    const lines = ['text,label'];
    for (let i = 0; i < 12_000; i++) lines.push(`plain ascii row number ${i},${i % 2 ? 'x' : 'y'}`);
    const badLine = lines.length + 1;
    const file = path.join(work, 'late-latin1.csv');
    fs.writeFileSync(file, Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2c, 0x78, 0x0a])]));
    expect(fs.statSync(file).size).toBeGreaterThan(300 * 1024);
    const inspection = await inspectDataset(file);
    expect(inspection.parse.encoding).toBe('windows-1252');
    expect(inspection.encodingNote).toContain(`line ${badLine}`);
    expect(inspection.rowCount).toBe(12_001);
    expect(inspection.labelDistribution).toEqual([
      { label: 'x', count: 6001 },
      { label: 'y', count: 6000 },
    ]);
    const meta = await prepareDataset({ file, mapping: { textColumns: [0], labelColumn: 1, textSeparator: ' ' }, split: { kind: 'ratio', evalRatio: 0.1, seed: 1 } }, work);
    expect(meta.trainCount + meta.evalCount).toBe(12_001);
    expect(meta.parse.encoding).toBe('windows-1252');
    expect(meta.warnings.join(' ')).toContain(`line ${badLine}`);
  });

  it('reports progress in bytes up to the file size', async () => {
    const file = path.join(work, 'progress.csv');
    fs.writeFileSync(file, `text,label\n${'some text here,a\nother text there,b\n'.repeat(150_000)}`);
    const size = fs.statSync(file).size;
    const events: DataProgress[] = [];
    await inspectDataset(file, { onProgress: (p) => events.push(p) });
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const e of events) expect(e).toMatchObject({ phase: 'inspecting', unit: 'bytes', total: size });
    const done = events.map((e) => e.done);
    expect([...done].sort((a, b) => a - b)).toEqual(done);
    expect(events.at(-1)).toMatchObject({ done: size, etaSeconds: 0 });
  });

  it('stops when the AbortSignal fires and leaves no prepared files behind', async () => {
    const file = path.join(work, 'cancel.csv');
    fs.writeFileSync(file, `text,label\n${'a fairly long line of text to read,a\nanother fairly long line of text,b\n'.repeat(120_000)}`);
    const controller = new AbortController();
    const inspecting = inspectDataset(file, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done > 2 * MiB) controller.abort();
      },
    });
    await expect(inspecting).rejects.toMatchObject({ code: 'cancelled' });
    await expect(inspecting).rejects.toBeInstanceOf(AppError);

    const dataDir = path.join(work, 'cancel-data');
    const prepareController = new AbortController();
    const preparing = prepareDataset(
      { file, mapping: { textColumns: [0], labelColumn: 1, textSeparator: ' ' }, split: { kind: 'ratio', evalRatio: 0.1, seed: 1 } },
      dataDir,
      {
        signal: prepareController.signal,
        onProgress: (p) => {
          if (p.phase === 'reading' && p.done > 2 * MiB) prepareController.abort();
        },
      },
    );
    await expect(preparing).rejects.toMatchObject({ code: 'cancelled' });
    expect(fs.readdirSync(path.join(dataDir, 'datasets'))).toEqual([]);
  });
});
