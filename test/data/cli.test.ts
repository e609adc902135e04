/** `finetune data inspect|doctor`: exit codes, one-line errors, human output and --json. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataCommand } from '../../src/main/cli/data';

const DATASETS = path.resolve(__dirname, '../../../shared/datasets');
const TINY_BERT = path.resolve(__dirname, '../../../shared/reference/fixtures/bert');
const FIXTURES = path.resolve(__dirname, '../fixtures/data');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-cli-data-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await dataCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false });
  return { code, out, err };
}

describe('finetune data', () => {
  it('inspect prints how the file is read, its columns, the suggestion and the labels', async () => {
    const r = await run('inspect', path.join(DATASETS, 'ag_news/test.csv'));
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    const text = r.out.join('\n');
    expect(text).toContain('7,600 data rows; read as comma-separated, quoted fields, no header, UTF-8');
    expect(text).toContain('Suggested: text = 2 "column 2" + 3 "column 3"; label = 1 "column 1" (names from');
    expect(text).toMatch(/Sci\/Tech\s+1,900\s+25\.0 %/);
  });

  it('inspect --json prints one JSON document', async () => {
    const r = await run('inspect', path.join(DATASETS, 'emotion/val.txt'), '--json');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out.join('\n')) as { rowCount: number; parse: { delimiter: string }; suggestedMapping: { labelColumn: number } };
    expect(parsed.rowCount).toBe(2000);
    expect(parsed.parse.delimiter).toBe(';');
    expect(parsed.suggestedMapping.labelColumn).toBe(1);
  });

  it('inspect honours read options and a label column by name', async () => {
    const r = await run('inspect', path.join(FIXTURES, 'semicolon.csv'), '--delimiter', 'semicolon', '--no-header', '--label-column', '2', '--json');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out.join('\n')) as { rowCount: number; parse: { hasHeader: boolean }; labelDistribution: { label: string }[] };
    expect(parsed.parse.hasHeader).toBe(false);
    expect(parsed.rowCount).toBe(5);
    expect(parsed.labelDistribution.map((l) => l.label).sort()).toEqual(['bon', 'mauvais', 'note']);
  });

  it('doctor with a model measures token lengths and reports findings; --json carries the report', async () => {
    const file = path.join(work, 'reviews.csv');
    const lines = ['review,sentiment'];
    for (let i = 0; i < 60; i++) lines.push(`${'a rather long review text '.repeat(i % 7 === 0 ? 12 : 1)}${i},${i % 5 === 0 ? 'neg' : 'pos'}`);
    lines.push('a rather long review text 1,pos');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const human = await run('doctor', file, '--model', TINY_BERT, '--max-length', '32');
    expect(human.code).toBe(0);
    const text = human.out.join('\n');
    expect(text).toContain('text = "review"; label = "sentiment"');
    expect(text).toMatch(/WARNING\s+Imbalanced classes/);
    expect(text).toMatch(/Duplicate rows\n.*\n\s+lines: 62/);
    expect(text).toMatch(/Token lengths \(bert, max length 32\)/);
    const json = await run('doctor', file, '--model', TINY_BERT, '--max-length', '32', '--json', '--eval-ratio', '0.2');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out.join('\n')) as {
      mapping: { textColumns: number[]; labelColumn: number };
      report: { tokenLengths: { maxLength: number; measured: number; truncatedCount: number }; classBalance: { suggestedClassWeights: number[] }; evalCount: number };
    };
    expect(parsed.mapping).toMatchObject({ textColumns: [0], labelColumn: 1 });
    expect(parsed.report.tokenLengths).toMatchObject({ maxLength: 32, measured: 61 });
    expect(parsed.report.tokenLengths.truncatedCount).toBeGreaterThan(0);
    expect(parsed.report.classBalance.suggestedClassWeights).toHaveLength(2);
    expect(parsed.report.evalCount).toBe(12);
  });

  it('doctor exits 1 with one line when the data cannot be trained on', async () => {
    const r = await run('doctor', path.join(FIXTURES, 'one-class.csv'));
    expect(r.code).toBe(1);
    expect(r.err).toEqual(['finetune data doctor: only one label; this data cannot be trained on as it is']);
    expect(r.out.join('\n')).toMatch(/BLOCKING\s+Only one label/);
  });

  it('exits 1 with one clear line for a missing or unreadable file', async () => {
    const missing = await run('inspect', path.join(work, 'nope.csv'));
    expect(missing.code).toBe(1);
    expect(missing.err).toHaveLength(1);
    expect(missing.err[0]).toMatch(/^finetune data inspect: .*nope\.csv does not exist/);
    const empty = await run('doctor', path.join(FIXTURES, 'empty.csv'));
    expect(empty.code).toBe(1);
    expect(empty.err).toEqual(['finetune data doctor: empty.csv is empty (0 bytes). Choose a file with a text column and a label column.']);
    const badModel = await run('doctor', path.join(FIXTURES, 'basic.csv'), '--model', path.join(work, 'no-model'));
    expect(badModel.code).toBe(1);
    expect(badModel.err[0]).toContain('model folder');
  });

  it('exits 2 on usage errors', async () => {
    for (const argv of [
      [],
      ['frobnicate'],
      ['inspect'],
      ['inspect', 'a.csv', 'b.csv'],
      ['inspect', 'a.csv', '--bogus'],
      ['inspect', 'a.csv', '--delimiter', 'colon'],
      ['doctor', 'a.csv', '--max-length', 'ten'],
      ['doctor', 'a.csv', '--eval', 'e.csv', '--eval-ratio', '0.1'],
      ['doctor', 'a.csv', '--model'],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toHaveLength(1);
      expect(r.err[0]).toMatch(/^finetune data( inspect| doctor)?: /);
    }
    const badColumn = await run('doctor', path.join(FIXTURES, 'basic.csv'), '--text-column', 'nosuch');
    expect(badColumn.code).toBe(2);
    expect(badColumn.err[0]).toContain('the columns are 1 "text", 2 "label"');
    expect((await run('help')).code).toBe(0);
  });
});
