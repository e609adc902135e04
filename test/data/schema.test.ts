/** The input schemas of the dataset calls accept what the app sends and refuse the rest, naming the field. */
import { describe, expect, it } from 'vitest';
import {
  datasetIdSchema,
  datasetMappingSchema,
  doctorOptionsSchema,
  doctorSourceSchema,
  inspectOverridesSchema,
  prepareRequestSchema,
} from '../../src/shared/dataset-schema';

const mapping = { textColumns: [1, 2], labelColumn: 0, textSeparator: ' ', labelNames: { 1: 'World' }, parse: { delimiter: ',', hasHeader: false } };

describe('dataset input schemas', () => {
  it('accepts a full prepare request', () => {
    const request = { file: '/data/news.csv', mapping, split: { kind: 'ratio', evalRatio: 0.1, seed: 42 }, name: '  AG News  ', cleaning: { dropDuplicates: true } };
    const parsed = prepareRequestSchema.parse(request);
    expect(parsed.name).toBe('AG News');
    expect(prepareRequestSchema.parse({ file: 'a.csv', mapping, split: { kind: 'file', evalFile: 'b.csv' } }).split.kind).toBe('file');
  });

  it.each([
    [{ ...mapping, textColumns: [] }, 'textColumns', 'at least one text column'],
    [{ ...mapping, textColumns: [1, 1] }, 'textColumns', 'twice'],
    [{ ...mapping, labelColumn: 1 }, 'labelColumn', 'cannot also be a text column'],
    [{ ...mapping, labelColumn: -1 }, 'labelColumn', 'starts at 0'],
    [{ ...mapping, labelNames: { 1: '   ' } }, 'labelNames', 'cannot be empty'],
    [{ ...mapping, parse: { delimiter: ':' } }, 'parse', ''],
    [{ ...mapping, extra: true }, '', ''],
  ])('refuses a bad mapping (%#)', (bad, field, message) => {
    const result = datasetMappingSchema.safeParse(bad);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    if (field) expect(issue.path[0]).toBe(field);
    if (message) expect(issue.message).toContain(message);
  });

  it('refuses bad splits, ids, options and sources', () => {
    const base = { file: 'a.csv', mapping };
    expect(prepareRequestSchema.safeParse({ ...base, split: { kind: 'ratio', evalRatio: 1, seed: 1 } }).success).toBe(false);
    expect(prepareRequestSchema.safeParse({ ...base, split: { kind: 'ratio', evalRatio: 0.2, seed: 1.5 } }).success).toBe(false);
    expect(prepareRequestSchema.safeParse({ ...base, split: { kind: 'file' } }).success).toBe(false);
    expect(prepareRequestSchema.safeParse({ ...base, file: '', split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } }).success).toBe(false);
    expect(prepareRequestSchema.safeParse({ ...base, file: 'a\u0000b', split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } }).success).toBe(false);
    expect(datasetIdSchema.safeParse('a'.repeat(64)).success).toBe(true);
    expect(datasetIdSchema.safeParse('../etc/passwd').success).toBe(false);
    expect(doctorOptionsSchema.safeParse({ maxLength: 4 }).success).toBe(false);
    expect(doctorOptionsSchema.safeParse({ maxLength: 256, minClassSize: 5 }).success).toBe(true);
    expect(doctorSourceSchema.safeParse({ kind: 'prepared', id: 'b'.repeat(64) }).success).toBe(true);
    expect(doctorSourceSchema.safeParse({ kind: 'file', file: 'a.csv', mapping }).success).toBe(true);
    expect(doctorSourceSchema.safeParse({ kind: 'url', file: 'a.csv' }).success).toBe(false);
    expect(inspectOverridesSchema.safeParse({ encoding: 'latin-9' }).success).toBe(false);
    expect(inspectOverridesSchema.safeParse({ encoding: 'windows-1252', labelColumn: 2, delimiter: '\t' }).success).toBe(true);
  });

  it('survives random and truncated input without throwing', () => {
    const valid = JSON.stringify({ file: 'a.csv', mapping, split: { kind: 'ratio', evalRatio: 0.2, seed: 3 } });
    let seed = 1;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 300; i++) {
      const cut = valid.slice(0, Math.floor(random() * valid.length));
      let value: unknown = cut;
      try {
        value = JSON.parse(cut);
      } catch {
        // a truncated string is input too
      }
      expect(() => prepareRequestSchema.safeParse(value)).not.toThrow();
      const mutated = valid.replace(/\d/, String(Math.floor(random() * 10))).replace('0.2', String(random() * 3 - 1));
      expect(() => prepareRequestSchema.safeParse(JSON.parse(mutated))).not.toThrow();
    }
  });
});
