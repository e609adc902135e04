/**
 * `finetune predict --output` neutralises formula cells (issue 12.4); `--raw-csv` writes them as
 * they are (csvInjectionSafe: false). In process, with the small reference model folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli';

const MODEL = path.resolve(__dirname, '../../../shared/reference/fixtures/bert');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-rawcsv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const input = path.join(dir, 'in.csv');
fs.writeFileSync(input, 'text\n=1+1\n@SUM(1+1)\nplain words\n');

async function predict(extra: string[]): Promise<{ code: number; rows: string[][]; err: string }> {
  const output = path.join(dir, `out-${extra.length}.csv`);
  const err: string[] = [];
  const io = { out: () => undefined, err: (l: string) => void err.push(l), isTTY: false };
  const code = await runCli(['predict', '--model', MODEL, '--input', input, '--output', output, ...extra], io);
  const rows = code === 0 ? (parse(fs.readFileSync(output, 'utf8'), { relaxQuotes: true }) as string[][]) : [];
  return { code, rows, err: err.join('\n') };
}

describe('finetune predict --raw-csv', () => {
  it('neutralises formula cells by default', { timeout: 120_000 }, async () => {
    const r = await predict([]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.rows.slice(1).map((row) => row[0])).toEqual(["'=1+1", "'@SUM(1+1)", 'plain words']);
  });

  it('writes them as they are with --raw-csv', { timeout: 120_000 }, async () => {
    const r = await predict(['--raw-csv']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.rows.slice(1).map((row) => row[0])).toEqual(['=1+1', '@SUM(1+1)', 'plain words']);
  });

  it('refuses --raw-csv without --output', async () => {
    const err: string[] = [];
    const code = await runCli(['predict', '--model', MODEL, '--text', 'hi', '--raw-csv'], { out: () => undefined, err: (l) => void err.push(l), isTTY: false });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--raw-csv/);
  });
});
