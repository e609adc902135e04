/**
 * The corpus of unusual and malformed files (scripts/make-data-fixtures.mjs) against the outcome
 * expected.json gives for each: how it is read, its rows and their lines, what is skipped and
 * why, or the error naming the problem; and, where given, what the doctor and prepare make of it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DatasetCleaning, DatasetMapping, InspectOverrides, ParseSettings, SplitSpec } from '../../src/shared/dataset';
import { AppError } from '../../src/shared/errors';
import { doctorDataset, inspectDataset, loadPreparedDataset, prepareDataset, readRecords, resolveFormat } from '../../src/main/data';

const FIXTURES = path.resolve(__dirname, '../fixtures/data');

interface ExpectedCase {
  file: string;
  description: string;
  overrides?: InspectOverrides;
  error?: { code: string; messageIncludes: string[] };
  parse?: Partial<ParseSettings>;
  rows?: number;
  columns?: string[];
  columnTypes?: string[];
  rowValues?: Record<string, string[]>;
  rowLines?: Record<string, number>;
  rowLengths?: Record<string, number[]>;
  skippedLines?: number[];
  skippedReasons?: string[];
  suggested?: (Partial<DatasetMapping> & { labelNames?: Record<string, string> }) | null;
  labelCount?: number;
  labelNamesFromClassesTxt?: boolean;
  warningsInclude?: string[];
  encodingNote?: string | null;
  ambiguous?: boolean;
  /** The formats of the alternatives the inspection offers, in order. */
  alternatives?: string[];
  doctor?: { mapping: Pick<DatasetMapping, 'textColumns' | 'labelColumn'>; blocking?: string[]; findings?: Record<string, number[]> };
  prepare?: {
    mapping?: Pick<DatasetMapping, 'textColumns' | 'labelColumn'>;
    split: SplitSpec;
    cleaning?: DatasetCleaning;
    error?: string[];
    labels?: string[];
    labelCount?: number;
    trainCount?: number;
    evalCount?: number;
    everyClassBothSides?: boolean;
    warningsInclude?: string[];
    someText?: string;
  };
}

const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { cases: ExpectedCase[] };
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-corpus-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('dataset corpus (test/fixtures/data)', () => {
  it('has at least 30 files, each described', () => {
    expect(expected.cases.length).toBeGreaterThanOrEqual(30);
    for (const c of expected.cases) {
      expect(fs.existsSync(path.join(FIXTURES, c.file)), c.file).toBe(true);
      expect(c.description.length).toBeGreaterThan(10);
    }
  });

  it.each(expected.cases.map((c) => [c.file, c] as const))('%s', async (_name, c) => {
    const file = path.join(FIXTURES, c.file);
    if (c.error) {
      const failure = await inspectDataset(file, { overrides: c.overrides }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(failure, `${c.file} should be refused`).toBeInstanceOf(AppError);
      const err = failure as AppError;
      expect(err.code).toBe(c.error.code);
      for (const part of c.error.messageIncludes) expect(err.message).toContain(part);
      return;
    }

    const inspection = await inspectDataset(file, { overrides: c.overrides });
    if (c.parse) expect(inspection.parse).toMatchObject(c.parse);
    if (c.rows !== undefined) expect(inspection.rowCount).toBe(c.rows);
    if (c.columns) expect(inspection.columns.map((col) => col.name)).toEqual(c.columns);
    if (c.columnTypes) expect(inspection.columns.map((col) => col.type)).toEqual(c.columnTypes);
    if (c.skippedLines) expect(inspection.skipped.rows.map((s) => s.line)).toEqual(c.skippedLines);
    if (c.skippedReasons) {
      c.skippedReasons.forEach((reason, i) => expect(inspection.skipped.rows[i]?.reason).toContain(reason));
    }
    if (c.labelCount !== undefined) expect(inspection.labelCount).toBe(c.labelCount);
    if (c.encodingNote === null) expect(inspection.encodingNote).toBeNull();
    else if (c.encodingNote !== undefined) expect(inspection.encodingNote).toContain(c.encodingNote);
    for (const part of c.warningsInclude ?? []) expect(inspection.warnings.join('\n')).toContain(part);
    if (c.ambiguous !== undefined) expect(inspection.ambiguous).toBe(c.ambiguous);
    if (c.alternatives) expect(inspection.alternatives.map((a) => a.parse.format)).toEqual(c.alternatives);
    if (c.suggested === null) expect(inspection.suggestedMapping).toBeNull();
    else if (c.suggested) expect(inspection.suggestedMapping).toMatchObject(c.suggested);
    if (c.labelNamesFromClassesTxt) expect(inspection.labelNamesSource).toBe(path.join(path.dirname(file), 'classes.txt'));

    if (c.rowValues || c.rowLines || c.rowLengths) {
      const format = await resolveFormat(file, c.overrides ?? {});
      const records: { line: number; fields: string[] }[] = [];
      await readRecords(format, { record: (r) => void records.push(r), reset: () => void (records.length = 0) });
      expect(records.length).toBe(inspection.rowCount);
      for (const [i, values] of Object.entries(c.rowValues ?? {})) expect(records[Number(i)]?.fields, `row ${i}`).toEqual(values);
      for (const [i, line] of Object.entries(c.rowLines ?? {})) expect(records[Number(i)]?.line, `line of row ${i}`).toBe(line);
      for (const [i, lengths] of Object.entries(c.rowLengths ?? {})) expect(records[Number(i)]?.fields.map((f) => f.length)).toEqual(lengths);
    }

    if (c.doctor) {
      const mapping: DatasetMapping = { ...c.doctor.mapping, textSeparator: ' ', parse: inspection.parse };
      const report = await doctorDataset({ kind: 'file', file, mapping });
      const blocking = report.findings.filter((f) => f.severity === 'blocking').map((f) => f.id);
      expect(blocking).toEqual(c.doctor.blocking ?? []);
      expect(report.blocking).toBe((c.doctor.blocking ?? []).length > 0);
      for (const [id, rows] of Object.entries(c.doctor.findings ?? {})) {
        const finding = report.findings.find((f) => f.id === id);
        expect(finding, `finding ${id}`).toBeDefined();
        expect(finding!.rows).toEqual(rows);
      }
    }

    if (c.prepare) {
      const base = c.prepare.mapping ?? inspection.suggestedMapping;
      expect(base, 'a mapping to prepare with').toBeTruthy();
      const mapping: DatasetMapping = { textSeparator: ' ', ...inspection.suggestedMapping, ...base!, parse: inspection.parse };
      const request = { file, mapping, split: c.prepare.split, cleaning: c.prepare.cleaning };
      if (c.prepare.error) {
        const failure = await prepareDataset(request, dataDir).then(
          () => null,
          (err: unknown) => err,
        );
        expect(failure).toBeInstanceOf(AppError);
        for (const part of c.prepare.error) expect((failure as Error).message).toContain(part);
        return;
      }
      const meta = await prepareDataset(request, dataDir);
      if (c.prepare.labels) expect(meta.labels).toEqual(c.prepare.labels);
      if (c.prepare.labelCount !== undefined) expect(meta.labels.length).toBe(c.prepare.labelCount);
      if (c.prepare.trainCount !== undefined) expect(meta.trainCount).toBe(c.prepare.trainCount);
      if (c.prepare.evalCount !== undefined) expect(meta.evalCount).toBe(c.prepare.evalCount);
      if (c.prepare.everyClassBothSides) expect(meta.classCounts.every((k) => k.train > 0 && k.eval > 0)).toBe(true);
      for (const part of c.prepare.warningsInclude ?? []) expect(meta.warnings.join('\n')).toContain(part);
      const loaded = await loadPreparedDataset(dataDir, meta.id);
      expect(loaded.train.length).toBe(meta.trainCount);
      expect(loaded.eval.length).toBe(meta.evalCount);
      if (c.prepare.someText) expect([...loaded.train, ...loaded.eval].map((r) => r.text)).toContain(c.prepare.someText);
    }
  });
});
