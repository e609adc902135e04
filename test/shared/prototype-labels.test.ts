/**
 * Labels and names that are Object.prototype members (issue 12.3): `constructor`, `__proto__`,
 * `toString` must be ordinary keys everywhere user text keys a lookup: the saved model's
 * config.json, prediction cells, the CLI's command table (the wizard's class weights: test/renderer/wizard.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli';
import type { SequenceClassifier } from '../../src/main/engine/models/index';
import { modelConfigJson } from '../../src/main/engine/save';
import { predictionCells, predictionColumns } from '../../src/main/export/predictions';
import { parseModelConfig } from '../../src/main/hf/config';
import { nullRecord, ownValue } from '../../src/shared/own';

const LABELS = ['constructor', '__proto__', 'toString'];

describe('labels named like Object.prototype members', () => {
  it('own-key lookups answer only own keys; a null-prototype record keeps __proto__ as a key', () => {
    expect(ownValue({}, 'constructor')).toBeUndefined();
    expect(ownValue({}, '__proto__')).toBeUndefined();
    const r = nullRecord<number>();
    r['__proto__'] = 1;
    expect(Object.keys(r)).toEqual(['__proto__']);
    expect(ownValue(r, '__proto__')).toBe(1);
    expect(JSON.parse(JSON.stringify(r))).toEqual(JSON.parse('{"__proto__":1}'));
  });

  it('a saved model config keeps every label in id2label and label2id, and reads back', () => {
    const raw0 = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../shared/reference/fixtures/bert/config.json'), 'utf8')) as Record<string, unknown>;
    const model = { config: { id2label: LABELS, raw: raw0, modelType: 'bert' } } as unknown as SequenceClassifier;
    const text = JSON.stringify(modelConfigJson(model));
    const raw = JSON.parse(text) as { id2label: Record<string, string>; label2id: Record<string, number> };
    expect(Object.keys(raw.label2id)).toEqual(LABELS);
    expect(Object.hasOwn(raw.label2id, '__proto__')).toBe(true);
    expect(raw.label2id['__proto__']).toBe(1);
    expect(Object.values(raw.id2label)).toEqual(LABELS);
    expect(parseModelConfig(JSON.parse(text)).id2label).toEqual(LABELS);
  });

  it('prediction cells give each label its own probability, 0 for one missing from the scores', () => {
    expect(predictionColumns(['text'], LABELS)).toEqual(['text', 'predicted_label', 'confidence', 'prob_constructor', 'prob___proto__', 'prob_toString']);
    const cells = predictionCells({ label: 'toString', score: 0.7, scores: { toString: 0.7 } }, LABELS);
    expect(cells).toEqual(['toString', '0.700000', '0.000000', '0.000000', '0.700000']);
  });

  it('the CLI treats `constructor` and `toString` as unknown commands, not as Object members', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), isTTY: false };
    await expect(runCli(['constructor'], io)).resolves.toBe(2);
    expect(err.join('\n')).toMatch(/unknown command "constructor"/);
    await expect(runCli(['help', 'toString'], io)).resolves.toBe(0);
    expect(out.join('\n')).toMatch(/finetune/);
  });

});
