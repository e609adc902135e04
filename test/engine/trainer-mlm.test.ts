/**
 * The trainer with a masked-LM stage: adapts the encoder on the training texts (and an extra
 * file of unlabelled texts), saves <run>/mlm-model as a *ForMaskedLM folder, fine-tunes from
 * it; the stage is cancellable and resumes from its own checkpoint to the same weights.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { Trainer, type TrainJob, type TrainerSink } from '../../src/main/engine/trainer';
import { loadModelFolder } from '../../src/main/engine/load';
import { latestCheckpoint } from '../../src/main/engine/checkpoint';
import { MLM_MODEL_DIR, MLM_STAGE_DIR, MODEL_DIR } from '../../src/main/engine/layout';
import { parseUnlabelledTexts } from '../../src/main/engine/mlm/texts';
import { RECOMMENDED_OPTIONS, runConfigSchema, type RunConfig } from '../../src/shared/run-config';
import type { TrainPhaseEvent, TrainStepEvent } from '../../src/shared/types';
import { fixtureDir } from '../helpers/reference';
import { agNewsRows, AG_LABELS } from '../helpers/agnews';
import { setTestBackend } from '../helpers/engine';
import { useHeavyTimeouts } from './timeouts';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
let tmp: string;
let extraFile: string;
beforeAll(async () => {
  await setTestBackend(backend);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-trainer-mlm-'));
  extraFile = path.join(tmp, 'extra.txt');
  // 16 unlabelled texts (one blank line, dropped): 48 + 16 = 64 texts, 8 steps per epoch at batch 8.
  fs.writeFileSync(extraFile, agNewsRows('test.csv', 40).slice(24).map((r) => r.text).join('\n') + '\n\n');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const train = agNewsRows('train_5k.csv', 48);
const evalRows = agNewsRows('test.csv', 24);

function job(name: string, resume = false): TrainJob {
  const config: RunConfig = {
    name,
    model: { source: 'bert', path: fixtureDir('bert') },
    labels: AG_LABELS,
    dataset: { fingerprint: 'test', name: 'ag', trainCount: train.length, evalCount: evalRows.length, path: null },
    options: { ...RECOMMENDED_OPTIONS, epochs: 1, batchSize: 8, learningRate: 1e-3, maxLength: 32, evalBatchSize: 16 },
    mlm: { epochs: 2, extraTextsFile: extraFile, learningRate: 1e-3 },
  };
  return { runId: name, runDir: path.join(tmp, name), resume, train, eval: evalRows, config: runConfigSchema.parse(config) };
}

function recordingSink(onStep?: (e: TrainStepEvent) => void) {
  const steps: TrainStepEvent[] = [];
  const phases: TrainPhaseEvent['phase'][] = [];
  const sink: TrainerSink = {
    phase: (e) => phases.push(e.phase),
    step: (e) => {
      steps.push(e);
      onStep?.(e);
    },
    evaluation: () => {},
    checkpoint: () => {},
    log: () => {},
  };
  return { sink, steps, phases };
}

const mlmLosses = (steps: TrainStepEvent[]) => steps.filter((s) => s.stage === 'mlm').map((s) => s.loss);
const finetuneLosses = (steps: TrainStepEvent[]) => steps.filter((s) => s.stage === 'finetune').map((s) => s.loss);

describe(`trainer with a masked-LM stage (${backend})`, () => {
  let full: { steps: TrainStepEvent[]; weights: Buffer };

  it('adapts the encoder, saves a *ForMaskedLM folder, then fine-tunes from it', async () => {
    const rec = recordingSink();
    const j = job('both');
    const result = await new Trainer(j, rec.sink, new AbortController().signal, activeKernels()).run();
    expect(result.status).toBe('completed');
    const mlm = rec.steps.filter((s) => s.stage === 'mlm');
    expect(mlm.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(mlm.every((s) => s.totalSteps === 16 && Number.isFinite(s.loss) && s.loss > 0)).toBe(true);
    expect(mlm.at(-1)!.epoch).toBe(2);
    // Every MLM step comes before the first fine-tuning step.
    const firstFinetune = rec.steps.findIndex((s) => s.stage === 'finetune');
    expect(firstFinetune).toBe(16);
    expect(rec.steps.slice(firstFinetune).map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rec.phases).toContain('adapting');
    expect(rec.phases.indexOf('adapting')).toBeLessThan(rec.phases.indexOf('tokenising'));

    const mlmDir = path.join(j.runDir, MLM_MODEL_DIR);
    const config = JSON.parse(fs.readFileSync(path.join(mlmDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.architectures).toEqual(['BertForMaskedLM']);
    expect(config.id2label).toBeUndefined();
    expect(fs.existsSync(path.join(mlmDir, 'tokenizer.json'))).toBe(true);
    // The stage's checkpoints are gone once the adapted model is saved.
    expect(fs.existsSync(path.join(j.runDir, MLM_STAGE_DIR))).toBe(false);
    expect(fs.existsSync(path.join(j.runDir, MODEL_DIR, 'config.json'))).toBe(true);

    // A classifier loads from the adapted folder: the encoder loads, the classification head is new.
    const loaded = await loadModelFolder(mlmDir, { labels: AG_LABELS, seed: 1 });
    try {
      expect(loaded.report.initialised.some((n) => n.startsWith('classifier.'))).toBe(true);
      expect(loaded.report.initialised.some((n) => n.startsWith('bert.encoder.'))).toBe(false);
      // The adapted encoder differs from the original one, except the word embeddings: the
      // classifier checkpoint has no masked-LM head, so the head is new and they stay frozen.
      const original = await loadModelFolder(fixtureDir('bert'), { labels: AG_LABELS, seed: 1 });
      const same = (name: string) => {
        const a = loaded.model.store.get(name).dataSync();
        const b = original.model.store.get(name).dataSync();
        return a.every((v, i) => v === b[i]);
      };
      expect(same('bert.encoder.layer.0.attention.self.query.weight')).toBe(false);
      expect(same('bert.embeddings.word_embeddings.weight')).toBe(true);
      original.model.store.dispose();
    } finally {
      loaded.model.store.dispose();
    }
    full = { steps: rec.steps, weights: fs.readFileSync(path.join(mlmDir, 'model.safetensors')) };
  });

  it('cancelled during the masked-LM stage, resumes from its checkpoint to the same adapted weights', async () => {
    const abort = new AbortController();
    const first = recordingSink((e) => {
      if (e.stage === 'mlm' && e.step === 10) abort.abort();
    });
    const j = job('cancel');
    const result = await new Trainer(j, first.sink, abort.signal, activeKernels()).run();
    expect(result.status).toBe('cancelled');
    expect(first.steps.some((s) => s.stage === 'finetune')).toBe(false);
    expect(fs.existsSync(path.join(j.runDir, MLM_MODEL_DIR))).toBe(false);
    const ckpt = latestCheckpoint(path.join(j.runDir, MLM_STAGE_DIR));
    expect(ckpt && path.basename(ckpt)).toBe('checkpoint-8');

    const second = recordingSink();
    const resumed = await new Trainer(job('cancel', true), second.sink, new AbortController().signal, activeKernels()).run();
    expect(resumed.status).toBe('completed');
    expect(second.steps.filter((s) => s.stage === 'mlm').map((s) => s.step)).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(mlmLosses(second.steps)).toEqual(mlmLosses(full.steps).slice(8));
    expect(fs.readFileSync(path.join(j.runDir, MLM_MODEL_DIR, 'model.safetensors')).equals(full.weights)).toBe(true);
    expect(finetuneLosses(second.steps)).toEqual(finetuneLosses(full.steps));

    // Resumed again after it finished adapting: the stage is skipped.
    const third = recordingSink();
    fs.rmSync(path.join(j.runDir, 'checkpoints'), { recursive: true, force: true });
    const again = await new Trainer(job('cancel', true), third.sink, new AbortController().signal, activeKernels()).run();
    expect(again.status).toBe('completed');
    expect(third.steps.some((s) => s.stage === 'mlm')).toBe(false);
    expect(finetuneLosses(third.steps)).toEqual(finetuneLosses(full.steps));
  });

  it('with a masked-LM learning rate of 0, fine-tunes exactly as without the stage (only the encoder is carried over)', async () => {
    // The schema refuses 0 (a stage that learns nothing); here it isolates the plumbing: the
    // fine-tune must start from the original folder (pooler, classifier, their init draws) with
    // the adapted encoder laid over it, which at learning rate 0 is the original encoder.
    const still = job('lr0');
    still.config.mlm = { ...still.config.mlm!, epochs: 1, learningRate: 0 };
    const plain = job('plain');
    delete plain.config.mlm;
    const a = recordingSink();
    const b = recordingSink();
    expect((await new Trainer(still, a.sink, new AbortController().signal, activeKernels()).run()).status).toBe('completed');
    expect((await new Trainer(plain, b.sink, new AbortController().signal, activeKernels()).run()).status).toBe('completed');
    expect(mlmLosses(a.steps).length).toBe(8);
    expect(finetuneLosses(a.steps).length).toBeGreaterThan(0);
    expect(finetuneLosses(a.steps)).toEqual(finetuneLosses(b.steps));
    const weights = (j: TrainJob) => fs.readFileSync(path.join(j.runDir, MODEL_DIR, 'model.safetensors'));
    expect(weights(still).equals(weights(plain))).toBe(true);
  });

  it('reads unlabelled texts from lines, a CSV text column or the longest field, and JSONL', () => {
    expect(parseUnlabelledTexts('one\n\n two \r\nthree', 'a.txt')).toEqual(['one', 'two', 'three']);
    expect(parseUnlabelledTexts('label,text\n1,"a, quoted text"\n2,plain\n', 'a.csv')).toEqual(['a, quoted text', 'plain']);
    expect(parseUnlabelledTexts('"1","Title","A longer description"\n', 'ag.csv')).toEqual(['A longer description']);
    expect(parseUnlabelledTexts('a description here\tSci/Tech\n', 'd.tsv')).toEqual(['a description here']);
    expect(parseUnlabelledTexts('{"text":"x y"}\n{"text":"z"}\n', 'a.jsonl')).toEqual(['x y', 'z']);
  });

  it('validates the stage strictly', () => {
    const base = job('schema').config;
    expect(runConfigSchema.safeParse({ ...base, mlm: { epochs: 0 } }).success).toBe(false);
    expect(runConfigSchema.safeParse({ ...base, mlm: { epochs: 2, epoch: 3 } }).success).toBe(false);
    expect(runConfigSchema.safeParse({ ...base, mlm: null }).success).toBe(true);
    expect(runConfigSchema.safeParse({ ...base, mlm: { epochs: 2, maskProbability: 0.3 } }).success).toBe(true);
    expect(runConfigSchema.safeParse({ ...base, mlm: { epochs: 2, maskProbability: 0.95 } }).success).toBe(false);
  });
});
