/**
 * Predictions whose forward runs in the built engine-window page in Debian's Chromium on
 * SwiftShader WebGPU (page-bridge.ts; Predictor.loadRemote, as the engine worker in Electron does
 * for predictions, batch prediction and the try-it box), beside the local Predictor on cpu: the
 * logits must agree within 1e-4, the predicted labels must be the same wherever the local top two
 * are apart by more than that, and a predictions CSV written through the window must have the
 * local file's rows and labels. The window must answer every batch (its 'predict' count is read
 * from the requests the test sends) and free its model on dispose (a later 'predict' fails there).
 *
 * Skips, saying why, when this Chromium offers no WebGPU adapter.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Predictor } from '../../src/main/engine/inference';
import type { EngineRequest, InitResult } from '../../src/main/engine/window-protocol';
import { predictFile } from '../../src/main/export/predict-file';
import { agNewsRows } from '../helpers/agnews';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { fixtureDir } from '../helpers/reference';
import { useHeavyTimeouts } from '../engine/timeouts';
import { openEnginePage, type EnginePage } from './page-bridge';

useHeavyTimeouts();

const MODEL = fixtureDir('bert');
const texts = agNewsRows('test.csv', 24).map((r) => r.text);
let tmp: string;
let engine: EnginePage | null = null;

beforeAll(async () => {
  await setTestBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-remote-predictor-chromium-'));
  engine = await openEnginePage();
});
afterAll(async () => {
  await engine?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const count = (type: EngineRequest['type']): number => engine!.requests.filter((t) => t === type).length;

describe('Predictor with the engine window in Chromium (WebGPU on SwiftShader) against the local cpu Predictor', () => {
  it('logits within 1e-4 of cpu, the same labels, the same predictions CSV; the window frees its model', async (ctx) => {
    if (engine!.noAdapter) {
      ctx.skip(engine!.noAdapter);
      return;
    }
    const local = await Predictor.load(MODEL);
    const localLogits = await local.logits(texts, { maxLength: 32, batchSize: 8 });
    const localPredictions = await local.predict(texts, { maxLength: 32, batchSize: 8 });
    await local.dispose();

    const init: InitResult[] = [];
    const remote = await Predictor.loadRemote(MODEL, { client: engine!.client, allowSoftware: true, onReady: (r) => init.push(r) });
    const remoteLogits = await remote.logits(texts, { maxLength: 32, batchSize: 8 });
    const remotePredictions = await remote.predict(texts, { maxLength: 32, batchSize: 8 });
    await remote.dispose();
    expect(init.length).toBe(1);
    expect(init[0]!.backend).toBe('webgpu');
    expect(init[0]!.device).toMatch(/via WebGPU \(Chromium\)/);
    expect(count('predict')).toBe(6);
    // The window's model is gone after dispose.
    await expect(engine!.client.predict({ batchSize: 1, seqLen: 1, inputIds: new Int32Array(1), attentionMask: new Int32Array(1), tokenTypeIds: new Int32Array(1) })).rejects.toThrow(/no model/);

    const k = local.labels.length;
    const diff = maxAbsDiff(remoteLogits, localLogits);
    // Where cpu's top two logits are apart by more than the tolerance, the label must be cpu's.
    const clear = texts.map((_, i) => i).filter((i) => {
      const row = [...localLogits.subarray(i * k, (i + 1) * k)].sort((a, b) => b - a);
      return row[0]! - row[1]! > 1e-4;
    });
    for (const i of clear) expect(remotePredictions[i]!.label, `text ${i}`).toBe(localPredictions[i]!.label);
    const probDiff = Math.max(...remotePredictions.map((p, i) => Math.max(...local.labels.map((l) => Math.abs(p.scores[l]! - localPredictions[i]!.scores[l]!)))));
    console.log(
      `[remote predictor, ${init[0]!.device}] ${texts.length} texts: max |window - cpu| logit ${diff.toExponential(2)}, probability ${probDiff.toExponential(2)}; ` +
        `${clear.length} of ${texts.length} with a clear top label, all the same`,
    );
    expect(remoteLogits.length).toBe(texts.length * k);
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(clear.length).toBeGreaterThan(texts.length / 2);

    // Batch prediction of a file through the window: the local file's rows and labels.
    const input = path.join(tmp, 'texts.csv');
    fs.writeFileSync(input, ['text', ...texts.map((t) => `"${t.replace(/"/g, '""')}"`)].join('\n') + '\n');
    const options = { maxLength: 32, batchSize: 8, chunkRows: 16, textColumns: ['text'] };
    await predictFile(MODEL, input, path.join(tmp, 'local.csv'), options);
    const before = count('predict');
    await predictFile(MODEL, input, path.join(tmp, 'remote.csv'), { ...options, loadClassifier: () => Predictor.loadRemote(MODEL, { client: engine!.client, allowSoftware: true }) });
    expect(count('predict') - before).toBe(3);
    const rows = (f: string): string[][] => parse(fs.readFileSync(path.join(tmp, f))) as string[][];
    const l = rows('local.csv');
    const r = rows('remote.csv');
    expect(r.length).toBe(texts.length + 1);
    expect(r[0]).toEqual(l[0]);
    expect(r.map((x) => x[0])).toEqual(l.map((x) => x[0]));
    for (const i of clear) expect(r[i + 1]![1], `row ${i + 1}`).toBe(l[i + 1]![1]);
    for (let i = 1; i < l.length; i++) {
      for (let j = 2; j < l[i]!.length; j++) expect(Math.abs(Number(r[i]![j]) - Number(l[i]![j])), `row ${i} column ${j}`).toBeLessThanOrEqual(1e-4);
    }
    expect(engine!.pageErrors).toEqual([]);
  });
});
