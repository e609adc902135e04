import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { tf } from '../../src/main/engine/tf';
import { Trainer, type TrainJob, type TrainerSink, MODEL_DIR, PREDICTIONS_FILE, epochBatches } from '../../src/main/engine/trainer';
import { loadModelFolder } from '../../src/main/engine/load';
import { batchTensors, disposeBatch, padRows } from '../../src/main/engine/batch';
import { predictLogitsAsync } from '../../src/main/engine/step';
import { latestCheckpoint } from '../../src/main/engine/checkpoint';
import type { RunConfig } from '../../src/shared/run-config';
import type { TrainStepEvent } from '../../src/shared/types';
import { agNewsRows, agNewsTrainJob } from '../helpers/agnews';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { useHeavyTimeouts } from './timeouts';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
let tmp: string;
beforeAll(async () => {
  await setTestBackend(backend);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-trainer-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const train = agNewsRows('train_5k.csv', 48);
const evalRows = agNewsRows('test.csv', 24);

function job(name: string, options: Partial<RunConfig['options']> = {}, family: 'bert' | 'roberta' | 'distilbert' | 'albert' = 'bert'): TrainJob {
  return agNewsTrainJob(tmp, name, { train, eval: evalRows }, options, family);
}

function recordingSink() {
  const steps: TrainStepEvent[] = [];
  const evals: number[] = [];
  const checkpoints: number[] = [];
  const sink: TrainerSink = {
    phase: () => {},
    step: (e) => steps.push(e),
    evaluation: (e) => evals.push(e.metrics.accuracy),
    checkpoint: (e) => checkpoints.push(e.step),
    log: () => {},
  };
  return { sink, steps, evals, checkpoints };
}

describe(`trainer (${backend})`, () => {
  it('trains, evaluates each epoch, keeps the best model and its predictions', async () => {
    const rec = recordingSink();
    const j = job('basic');
    const result = await new Trainer(j, rec.sink, new AbortController().signal, activeKernels()).run();
    expect(result.status).toBe('completed');
    expect(rec.steps.length).toBe(12);
    expect(rec.steps.at(-1)!.step).toBe(12);
    expect(rec.steps[0]!.learningRate).toBeCloseTo(1e-3, 12);
    expect(rec.steps.at(-1)!.learningRate).toBeCloseTo(1e-3 / 12, 12);
    expect(rec.evals.length).toBe(2);
    expect(rec.checkpoints).toEqual([6]);
    expect(rec.steps.every((s) => Number.isFinite(s.loss) && s.samplesPerSecond > 0)).toBe(true);
    expect(fs.existsSync(path.join(j.runDir, MODEL_DIR, 'model.safetensors'))).toBe(true);
    const preds = fs.readFileSync(path.join(j.runDir, PREDICTIONS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(preds.length).toBe(evalRows.length);
    expect(preds[0].probs.length).toBe(4);
    const config = JSON.parse(fs.readFileSync(path.join(j.runDir, MODEL_DIR, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'World', 1: 'Sports', 2: 'Business', 3: 'Sci/Tech' });
    expect(config.label2id['Sci/Tech']).toBe(3);
    expect(config.problem_type).toBe('single_label_classification');
  });

  it('the saved model loads back with the same predictions as recorded', async () => {
    const dir = path.join(tmp, 'basic', MODEL_DIR);
    const loaded = await loadModelFolder(dir);
    const preds = fs.readFileSync(path.join(tmp, 'basic', PREDICTIONS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const rows = evalRows.slice(0, 8).map((r) => loaded.tokenizer.encode(r.text, 32));
    const b = batchTensors(padRows(rows, loaded.tokenizer.padId), loaded.model.config);
    const logits = await predictLogitsAsync(loaded.model, b, activeKernels());
    disposeBatch(b);
    for (let i = 0; i < 8; i++) {
      const row = Array.from(logits.subarray(i * 4, i * 4 + 4));
      const max = Math.max(...row);
      const exp = row.map((x) => Math.exp(x - max));
      const sum = exp.reduce((a, c) => a + c, 0);
      expect(maxAbsDiff(exp.map((e) => e / sum), preds[i].probs)).toBeLessThan(2e-6);
    }
    loaded.model.store.dispose();
  });

  it('keeps the tfjs tensor count constant across 50 training steps', async () => {
    let before = -1;
    const counts: number[] = [];
    const sink: TrainerSink = {
      phase: () => {},
      step: (e) => {
        if (e.step === 1) before = tf.memory().numTensors;
        else counts.push(tf.memory().numTensors);
      },
      evaluation: () => {},
      checkpoint: () => {},
      log: () => {},
    };
    const j = job('memory', { epochs: 1, batchSize: 1, evalBatchSize: 8 });
    j.train = agNewsRows('train_5k.csv', 51);
    const start = tf.memory().numTensors;
    await new Trainer(j, sink, new AbortController().signal, activeKernels()).run();
    expect(counts.length).toBe(50);
    expect(new Set(counts)).toEqual(new Set([before]));
    expect(tf.memory().numTensors).toBe(start);
  });

  it('cancels within one step and keeps what was saved', async () => {
    const ac = new AbortController();
    const rec = recordingSink();
    const sink = { ...rec.sink, step: (e: TrainStepEvent) => { rec.steps.push(e); if (e.step === 3) ac.abort(); } };
    const result = await new Trainer(job('cancel'), sink, ac.signal, activeKernels()).run();
    expect(result.status).toBe('cancelled');
    expect(rec.steps.length).toBe(3);
  });

  it.each(['bert', 'roberta', 'distilbert', 'albert'] as const)('%s: a resumed run continues with the same loss curve as an uninterrupted one', async (family) => {
    const full = recordingSink();
    await new Trainer(job(`full-${family}`, { epochs: 3 }, family), full.sink, new AbortController().signal, activeKernels()).run();
    // Interrupted: stop right after the first epoch's checkpoint, then resume in a new Trainer.
    const ac = new AbortController();
    const first = recordingSink();
    const j = job(`resumed-${family}`, { epochs: 3 }, family);
    await new Trainer(j, { ...first.sink, checkpoint: (e) => { first.checkpoints.push(e.step); ac.abort(); } }, ac.signal, activeKernels()).run();
    expect(latestCheckpoint(j.runDir)).toMatch(/checkpoint-6$/);
    const second = recordingSink();
    const result = await new Trainer({ ...j, resume: true }, second.sink, new AbortController().signal, activeKernels()).run();
    expect(result.status).toBe('completed');
    expect(second.steps[0]!.step).toBe(7);
    const resumedCurve = [...first.steps.filter((s) => s.step <= 6), ...second.steps].map((s) => s.loss);
    expect(resumedCurve.length).toBe(18);
    expect(maxAbsDiff(resumedCurve, full.steps.map((s) => s.loss))).toBeLessThan(1e-6);
    expect(second.evals).toEqual(full.evals.slice(1));
  });

  it('grouped-by-length batches cover every row once per epoch and are reproducible', () => {
    const lengths = Array.from({ length: 100 }, (_, i) => (i * 37) % 50);
    const a = epochBatches(100, 8, 7, 1, lengths, true);
    const b = epochBatches(100, 8, 7, 1, lengths, true);
    expect(a).toEqual(b);
    expect(a.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(epochBatches(100, 8, 7, 2, lengths, true)).not.toEqual(a);
  });
});
