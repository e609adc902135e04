/**
 * The public datasets in ../shared/datasets go through the same inspect path: AG News (CSV, no
 * header, classes.txt), SMS Spam (TSV without header, stray quotes), TREC (`COARSE:fine question`,
 * ISO-8859-1), emotion (`text;label` with header), SST-2 and MR/Subj/CR/MPQA (`label sentence`,
 * Latin-1), DBpedia (14 classes).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectDataset, previewDataset } from '../../src/main/data';

const DATASETS = path.resolve(__dirname, '../../../shared/datasets');
const at = (p: string): string => path.join(DATASETS, p);

describe('real datasets', () => {
  it('AG News test.csv: 7,600 rows, 4 classes of 1,900, title + description, names from classes.txt', async () => {
    const started = performance.now();
    const r = await inspectDataset(at('ag_news/test.csv'));
    const ms = performance.now() - started;
    console.log(`AG News test.csv (1.8 MB) inspected in ${ms.toFixed(0)} ms`);
    expect(r.parse).toEqual({ format: 'delimited', encoding: 'utf-8', delimiter: ',', quoted: true, hasHeader: false });
    expect(r.rowCount).toBe(7600);
    expect(r.skipped.count).toBe(0);
    expect(r.columns.map((c) => c.type)).toEqual(['number', 'text', 'text']);
    expect(r.suggestedMapping).toMatchObject({
      textColumns: [1, 2],
      labelColumn: 0,
      textSeparator: ' ',
      labelNames: { 1: 'World', 2: 'Sports', 3: 'Business', 4: 'Sci/Tech' },
    });
    expect(r.labelNamesSource).toBe(at('ag_news/classes.txt'));
    expect(r.labelCount).toBe(4);
    expect(r.labelDistribution.map((l) => l.count)).toEqual([1900, 1900, 1900, 1900]);
    expect(r.labelDistribution.map((l) => l.label).sort()).toEqual(['Business', 'Sci/Tech', 'Sports', 'World']);
    const preview = await previewDataset(at('ag_news/test.csv'), { limit: 2 });
    expect(preview.rows[0]).toEqual({
      line: 1,
      values: ['3', 'Fears for T N pension after talks', expect.stringContaining('Unions representing workers at Turner')],
    });
    expect(preview.rows).toHaveLength(2);
  });

  it('AG News train_10k_descriptions.tsv: description + label name', async () => {
    const r = await inspectDataset(at('ag_news/train_10k_descriptions.tsv'));
    expect(r.parse).toMatchObject({ delimiter: '\t', hasHeader: false });
    expect(r.rowCount).toBe(10001);
    expect(r.suggestedMapping).toMatchObject({ textColumns: [0], labelColumn: 1 });
    expect(r.labelDistribution.map((l) => l.label).sort()).toEqual(['Business', 'Sci/Tech', 'Sports', 'World']);
  });

  it('SMS Spam: tab-separated without header; quotes in messages are text, not CSV quoting', async () => {
    const r = await inspectDataset(at('sms_spam/SMSSpamCollection'));
    expect(r.parse).toEqual({ format: 'delimited', encoding: 'utf-8', delimiter: '\t', quoted: false, hasHeader: false });
    expect(r.rowCount).toBe(5574);
    expect(r.skipped.count).toBe(0);
    expect(r.suggestedMapping).toMatchObject({ textColumns: [1], labelColumn: 0 });
    expect(Object.fromEntries(r.labelDistribution.map((l) => [l.label, l.count]))).toEqual({ ham: 4827, spam: 747 });
  });

  it('TREC train: `COARSE:fine question` lines in ISO-8859-1, read as label-first and said so', async () => {
    const r = await inspectDataset(at('trec/train_5500.label'));
    expect(r.parse).toMatchObject({ format: 'label-first', encoding: 'windows-1252' });
    expect(r.encodingNote).toMatch(/not valid UTF-8 .*line \d+.*Windows-1252/);
    expect(r.rowCount).toBe(5452);
    expect(r.columns.map((c) => c.name)).toEqual(['label', 'text']);
    expect(r.labelCount).toBe(50);
    expect(r.suggestedMapping).toMatchObject({ textColumns: [1], labelColumn: 0 });
    const test = await inspectDataset(at('trec/TREC_10.label'));
    expect(test.rowCount).toBe(500);
    expect(test.parse.format).toBe('label-first');
  });

  it('emotion: `text;label_name` with a header', async () => {
    const r = await inspectDataset(at('emotion/train.txt'));
    expect(r.parse).toMatchObject({ format: 'delimited', delimiter: ';', hasHeader: true });
    expect(r.rowCount).toBe(16000);
    expect(r.columns.map((c) => c.name)).toEqual(['text', 'label_name']);
    expect(r.suggestedMapping).toMatchObject({ textColumns: [0], labelColumn: 1 });
    expect(r.labelDistribution.map((l) => l.label)).toEqual(['joy', 'sadness', 'anger', 'fear', 'love', 'surprise']);
  });

  it.each([
    ['sst2/stsa.binary.train', 6920, 'utf-8', 0],
    ['sentence_sets/rt-polarity.all', 10662, 'windows-1252', 0],
    ['sentence_sets/subj.all', 10000, 'windows-1252', 0],
    ['sentence_sets/custrev.all', 3771, 'utf-8', 4],
    ['sentence_sets/mpqa.all', 10603, 'utf-8', 3],
  ] as const)('%s: `label sentence` lines, %i rows', async (file, rows, encoding, skipped) => {
    const r = await inspectDataset(at(file));
    expect(r.parse).toMatchObject({ format: 'label-first', encoding });
    expect(r.rowCount).toBe(rows);
    expect(r.labelCount).toBe(2);
    // Lines holding a label and no sentence are reported, with their line numbers.
    expect(r.skipped.count).toBe(skipped);
    for (const s of r.skipped.rows) expect(s.reason).toContain('no text');
  });

  it('DBpedia sample: 14 named classes, title + content', async () => {
    const r = await inspectDataset(at('dbpedia/sample_5k.csv'));
    expect(r.rowCount).toBe(5000);
    expect(r.labelCount).toBe(14);
    expect(r.suggestedMapping).toMatchObject({ textColumns: [1, 2], labelColumn: 0 });
    expect(r.suggestedMapping?.labelNames?.['14']).toBe('WrittenWork');
  });
});
