/**
 * Labels, label names and JSON keys named like Object.prototype members (`constructor`,
 * `toString`, `__proto__`...) are ordinary user values: import, the doctor and prepare treat them
 * like any other label, and a label name keyed `__proto__` survives the input schema.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetMappingSchema } from '../../src/shared/dataset-schema';
import type { DatasetMapping } from '../../src/shared/dataset';
import { doctorDataset, inspectDataset, loadPreparedDataset, prepareDataset, readRecords, resolveFormat } from '../../src/main/data';
import { LabelNormaliser } from '../../src/main/data/labels';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-proto-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const PROTO_LABELS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__proto__'];

function protoCsv(): string {
  const lines = ['text,label'];
  for (let i = 0; i < 60; i++) lines.push(`review number ${i} says something about ${i % 7},${PROTO_LABELS[i % PROTO_LABELS.length]}`);
  const file = path.join(work, 'proto.csv');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('labels named like Object.prototype members', () => {
  it('inspect, doctor and prepare treat them as plain labels', async () => {
    const file = protoCsv();
    const inspection = await inspectDataset(file);
    expect(inspection.labelCount).toBe(6);
    expect(inspection.labelDistribution.map((d) => d.label).sort()).toEqual([...PROTO_LABELS].sort());
    const mapping: DatasetMapping = { textColumns: [0], labelColumn: 1, textSeparator: ' ', parse: inspection.parse };
    const report = await doctorDataset({ kind: 'file', file, mapping });
    expect(report.blocking).toBe(false);
    expect(report.classBalance.classes.map((c) => c.label).sort()).toEqual([...PROTO_LABELS].sort());
    const dataDir = path.join(work, 'data');
    const meta = await prepareDataset({ file, mapping, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } }, dataDir);
    expect([...meta.labels].sort()).toEqual([...PROTO_LABELS].sort());
    const loaded = await loadPreparedDataset(dataDir, meta.id);
    expect(loaded.train.length + loaded.eval.length).toBe(60);
  });

  it('label names keyed by such values apply (and only to their own key)', () => {
    const names = JSON.parse('{"__proto__":"Proto","constructor":"Maker","1":"One"}') as Record<string, string>;
    const n = new LabelNormaliser(names);
    for (const raw of ['__proto__', 'constructor', 'toString', '1', 'valueOf']) n.add(raw);
    expect(n.finish().labels.sort()).toEqual(['Maker', 'One', 'Proto', 'toString', 'valueOf'].sort());
  });

  it('the mapping schema keeps a labelNames entry keyed "__proto__"', () => {
    const input = JSON.parse('{"textColumns":[0],"labelColumn":1,"textSeparator":" ","labelNames":{"__proto__":" Proto ","toString":"T"}}');
    const parsed = datasetMappingSchema.parse(input);
    expect(Object.keys(parsed.labelNames!).sort()).toEqual(['__proto__', 'toString']);
    expect(Object.getOwnPropertyDescriptor(parsed.labelNames, '__proto__')?.value).toBe('Proto');
    const bad = datasetMappingSchema.safeParse(JSON.parse('{"textColumns":[0],"labelColumn":1,"textSeparator":" ","labelNames":{"__proto__":"  "}}'));
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['labelNames', '__proto__']);
  });

  it('a JSON lines file with a key named like a prototype member reads missing keys as empty', async () => {
    const file = path.join(work, 'proto.jsonl');
    const lines = [JSON.stringify({ text: 'first text', label: 'a', constructor: 'x' })];
    for (let i = 0; i < 6; i++) lines.push(JSON.stringify({ text: `more text ${i}`, label: i % 2 ? 'a' : 'b' }));
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const format = await resolveFormat(file);
    expect(format.columnNames).toEqual(['text', 'label', 'constructor']);
    const records: string[][] = [];
    await readRecords(format, { record: (r) => void records.push(r.fields) });
    expect(records[1]).toEqual(['more text 0', 'b', '']);
  });
});
