/**
 * The Predictor with its forward in the engine window (Predictor.loadRemote: what the engine
 * worker uses in Electron for predictions, batch prediction and the try-it box when the job would
 * train there), against the real EngineHost in this process over a worker_threads MessageChannel
 * (in-process-window.ts). On the cpu backend (unless FINETUNE_TEST_BACKEND says otherwise) the
 * window runs the same forward on the same backend, so its logits must equal the local
 * Predictor's bit for bit; a predictions CSV must be byte-identical; a cancel during a window
 * call must cancel; and after dispose no tensor is left on either side (the window's model is
 * freed too). Each check also asserts that the batches really went to the window.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Predictor } from '../../src/main/engine/inference';
import { tf } from '../../src/main/engine/tf';
import { windowBackendInfo } from '../../src/main/engine/window-route';
import type { EngineRequest, InitResult } from '../../src/main/engine/window-protocol';
import { predictFile } from '../../src/main/export/predict-file';
import { agNewsRows } from '../helpers/agnews';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { fixtureDir } from '../helpers/reference';
import { useHeavyTimeouts } from '../engine/timeouts';
import { inProcessEngineWindow, type InProcessWindow } from './in-process-window';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
const MODEL = fixtureDir('bert');
const texts = agNewsRows('test.csv', 40).map((r) => r.text);
let tmp: string;

beforeAll(async () => {
  await setTestBackend(backend);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-remote-predictor-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ofType = (requests: readonly EngineRequest[], type: EngineRequest['type']): EngineRequest[] => requests.filter((r) => r.type === type);

/** A Predictor of the fixture model whose forward runs in the in-process window; init: the window's answers. */
async function remotePredictor(win: InProcessWindow, init: InitResult[] = []): Promise<Predictor> {
  return Predictor.loadRemote(MODEL, { client: win.client, allowSoftware: false, onReady: (r) => init.push(r) });
}

describe(`Predictor through the engine-window protocol (${backend}, host in process)`, () => {
  it('gives the local logits and predictions bit for bit, with no optimizer in the window, and frees both sides on dispose', async () => {
    const start = tf.memory().numTensors;
    const local = await Predictor.load(MODEL);
    const localLogits = await local.logits(texts, { maxLength: 32, batchSize: 8 });
    const localPredictions = await local.predict(texts, { maxLength: 32, batchSize: 8 });
    await local.dispose();
    expect(tf.memory().numTensors).toBe(start);

    const win = inProcessEngineWindow();
    const init: InitResult[] = [];
    try {
      const remote = await remotePredictor(win, init);
      // The model lives on both sides now (the same tfjs engine here): the window holds a copy.
      const loaded = tf.memory().numTensors;
      const progress: number[] = [];
      const remoteLogits = await remote.logits(texts, { maxLength: 32, batchSize: 8, onProgress: (done) => progress.push(done) });
      expect(progress).toEqual([8, 16, 24, 32, 40]);
      const remotePredictions = await remote.predict(texts, { maxLength: 32, batchSize: 8 });
      // Two at once (the try-it box answers requests as they come): each its own answer.
      const [a, b] = await Promise.all([remote.predict(texts.slice(0, 5), { maxLength: 32 }), remote.predict(texts.slice(5, 12), { maxLength: 32 })]);
      expect(tf.memory().numTensors).toBe(loaded);

      const diff = maxAbsDiff(remoteLogits, localLogits);
      console.log(`[remote predictor, ${backend}] ${texts.length} texts x ${local.labels.length} labels: max |window - local| logit ${diff}`);
      expect(remoteLogits.length).toBe(texts.length * local.labels.length);
      expect(diff).toBe(0);
      expect(remotePredictions).toEqual(localPredictions);
      expect([...a, ...b]).toEqual(localPredictions.slice(0, 12));

      // Every batch went to the window: 5 + 5 for the two full passes, 1 + 1 for the two small ones.
      expect(ofType(win.requests, 'predict').length).toBe(12);
      const sent = ofType(win.requests, 'init') as Extract<EngineRequest, { type: 'init' }>[];
      expect(sent.length).toBe(1);
      expect(sent[0]!.options.inference).toBe(true);
      // No optimizer there (no moments on the GPU).
      await expect(win.client.moments()).rejects.toThrow(/predictions only/);
      // The job's backend report names the window's backend.
      expect(init.length).toBe(1);
      const info = windowBackendInfo(init[0]!);
      expect(info.name).toBe(backend);
      expect(info.detail).toMatch(/in the engine window/);

      await remote.dispose();
      expect(ofType(win.requests, 'dispose').length).toBe(1);
      expect(tf.memory().numTensors).toBe(start);
    } finally {
      win.close();
    }
  });

  it('batch prediction of a file through the window writes the same CSV as the local Predictor', async () => {
    const start = tf.memory().numTensors;
    const input = path.join(tmp, 'texts.csv');
    fs.writeFileSync(input, ['text', ...texts.slice(0, 30).map((t) => `"${t.replace(/"/g, '""')}"`)].join('\n') + '\n');
    const localOut = path.join(tmp, 'local.csv');
    const remoteOut = path.join(tmp, 'remote.csv');
    const options = { maxLength: 32, batchSize: 8, chunkRows: 16, textColumns: ['text'] };
    const l = await predictFile(MODEL, input, localOut, options);
    const win = inProcessEngineWindow();
    try {
      const r = await predictFile(MODEL, input, remoteOut, { ...options, loadClassifier: () => remotePredictor(win) });
      expect(r.rows).toBe(30);
      expect(r.rows).toBe(l.rows);
    } finally {
      win.close();
    }
    // Chunks of 16 rows in batches of 8: 2 + 2 batches, all in the window, its model freed at the end.
    expect(ofType(win.requests, 'predict').length).toBe(4);
    expect(ofType(win.requests, 'dispose').length).toBe(1);
    expect(fs.readFileSync(remoteOut).equals(fs.readFileSync(localOut))).toBe(true);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('a cancel while the window computes a batch cancels the prediction; dispose still frees everything', async () => {
    const start = tf.memory().numTensors;
    const ac = new AbortController();
    let predicts = 0;
    const win = inProcessEngineWindow(undefined, (r) => {
      if (r.type === 'predict' && ++predicts === 3) queueMicrotask(() => ac.abort());
    });
    try {
      const remote = await remotePredictor(win);
      const progress: number[] = [];
      const err = await remote.predict(texts, { maxLength: 32, batchSize: 8, signal: ac.signal, onProgress: (done) => progress.push(done) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DOMException);
      expect((err as DOMException).name).toBe('AbortError');
      expect(progress).toEqual([8, 16]);
      expect(predicts).toBe(3);
      await remote.dispose();
      expect(tf.memory().numTensors).toBe(start);
    } finally {
      win.close();
    }
  });

  it('a window without WebGPU refuses the model, saying so, and nothing is left loaded here', async () => {
    const start = tf.memory().numTensors;
    const win = inProcessEngineWindow(async () => 'this window has no navigator.gpu (WebGPU is disabled or unsupported here)');
    try {
      await expect(remotePredictor(win)).rejects.toThrow(/the engine window cannot run the model: this window has no navigator\.gpu/);
      expect(tf.memory().numTensors).toBe(start);
    } finally {
      win.close();
    }
  });

  it('the window going away fails the prediction with the reason (not a cancel)', async () => {
    const win = inProcessEngineWindow();
    const reason = 'The GPU engine window crashed (exit code 133).';
    const remote = await remotePredictor(win);
    win.client.close(reason);
    const err = await remote.predict(texts.slice(0, 4), { maxLength: 32 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(reason);
    await expect(remote.dispose()).rejects.toThrow(reason);
    win.close();
  });
});
