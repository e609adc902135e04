/**
 * Reading a file of unlabelled texts for masked-LM adaptation: a .csv / .tsv (the column named
 * text, sentence, content, description or body when the first row names one; otherwise the
 * longest field of each row, which is the text beside a label or an id), a .jsonl (each line's
 * "text"), or any other file as one text per line. Empty texts are dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CsvRecordParser, type CsvRecord } from '../../data/csv';

const TEXT_COLUMNS = ['text', 'sentence', 'content', 'description', 'body', 'review', 'document'];

function csvTexts(content: string, delimiter: string): string[] {
  const records: CsvRecord[] = [];
  const parser = new CsvRecordParser({ delimiter, quoted: delimiter === ',', maxRecordChars: 10_000_000 }, (r) => {
    records.push(r);
    return true;
  });
  parser.push(content);
  parser.end();
  if (records.length === 0) return [];
  const header = records[0]!.fields.map((f) => f.trim().toLowerCase());
  const named = TEXT_COLUMNS.map((c) => header.indexOf(c)).find((i) => i >= 0);
  if (named !== undefined) return records.slice(1).map((r) => r.fields[named] ?? '');
  return records.map((r) => r.fields.reduce((a, b) => (b.length > a.length ? b : a), ''));
}

export function parseUnlabelledTexts(content: string, fileName: string): string[] {
  const ext = path.extname(fileName).toLowerCase();
  let texts: string[];
  if (ext === '.csv') texts = csvTexts(content, ',');
  else if (ext === '.tsv') texts = csvTexts(content, '\t');
  else if (ext === '.jsonl') {
    texts = content
      .split(/\r?\n/)
      .filter((l) => l.trim())
      .map((l, i) => {
        const v = (JSON.parse(l) as { text?: unknown }).text;
        if (typeof v !== 'string') throw new Error(`${fileName}: line ${i + 1} has no "text" string`);
        return v;
      });
  } else texts = content.split(/\r?\n/);
  return texts.map((t) => t.trim()).filter((t) => t.length > 0);
}

export function readUnlabelledTexts(file: string): string[] {
  return parseUnlabelledTexts(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''), file);
}
