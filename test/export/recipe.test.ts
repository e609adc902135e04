/**
 * The training recipe (train.py + config.json + data + requirements) and the model card text:
 * train.py compiles, and its --dry-run reads back every option of the run as
 * transformers.Trainer names it; a tiny training step runs where Python transformers is
 * installed (not on this machine: see scripts/gpu-export-check.sh).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedDataset } from '../../src/shared/dataset';
import { runConfigSchema } from '../../src/shared/run-config';
import type { EvalMetrics } from '../../src/shared/types';
import { exportCommand } from '../../src/main/cli/export';
import { exportRecipe, modelCard } from '../../src/main/export/index';
import { bestEvaluation } from '../../src/main/export/model-card';
import { hubSource } from '../../src/main/export/run-source';
import { preparedDatasetDir } from '../../src/main/data';
import { testApp, type TestApp } from '../helpers/app';
import { fakeRun, leftovers, prepareAgNews, PYTHON, pythonProblem, runConfig } from './helpers';

let t: TestApp;
let prepared: PreparedDataset;
const noPython = pythonProblem();
const noTransformers = noPython ?? (spawnSync(PYTHON, ['-c', 'import transformers, torch, sklearn, accelerate'], { encoding: 'utf8' }).status === 0 ? null : 'Python transformers/accelerate/scikit-learn are not installed here (scripts/gpu-export-check.sh runs the recipe where they are)');
if (noPython) console.warn(`train.py checks skipped: ${noPython}`);
if (noTransformers) console.warn(`recipe training step skipped: ${noTransformers}`);

beforeAll(async () => {
  t = testApp();
  prepared = await prepareAgNews(t.dataDir, 40);
});
afterAll(() => t?.cleanup());

function dryRun(dir: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Record<string, any> {
  const r = spawnSync(PYTHON, [path.join(dir, 'train.py'), '--dry-run', ...args], { encoding: 'utf8', env: { ...process.env, WORLD_SIZE: '', ...env } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('training recipe', () => {
  let dir = '';
  let runId = '';

  it('holds train.py, config.json (the RunConfig), the prepared data, the base model, requirements and a README', async () => {
    runId = await fakeRun(t.dataDir, t.app.runs, runConfig(t.dataDir, prepared, 'bert', { epochs: 3, batchSize: 16, learningRate: 2e-5, maxLength: 64 }));
    dir = path.join(t.dataDir, 'recipes', 'bert');
    const progress: number[] = [];
    const r = await exportRecipe(t.dataDir, runId, dir, { runs: t.app.runs, onProgress: (p) => progress.push(p.done) });
    expect(r.files).toEqual(
      expect.arrayContaining(['README.md', 'base_model/config.json', 'base_model/model.safetensors', 'base_model/tokenizer.json', 'config.json', 'data/dataset.json', 'data/eval.jsonl', 'data/train.jsonl', 'requirements.txt', 'train.py']),
    );
    const copied = r.files.filter((f) => f.startsWith('base_model/') || /^data\/(train|eval)\.jsonl$/.test(f));
    expect(progress.at(-1)).toBe(copied.reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const parsed = runConfigSchema.parse(config);
    expect(parsed.options).toEqual(t.app.runs.get(runId)!.config.options);
    expect(parsed.labels).toEqual(prepared.labels);
    expect(config.model.path).toBe('base_model');
    expect(config.dataset.path).toBe('data');
    expect(config.recipe).toMatchObject({ runId, localModel: true, revision: null });
    expect(JSON.stringify(config)).not.toContain(t.dataDir);
    const src = preparedDatasetDir(t.dataDir, prepared.id);
    expect(sha256(path.join(dir, 'data', 'train.jsonl'))).toBe(prepared.contentSha256.train);
    expect(fs.readFileSync(path.join(dir, 'data', 'eval.jsonl'))).toEqual(fs.readFileSync(path.join(src, 'eval.jsonl')));
    const req = fs.readFileSync(path.join(dir, 'requirements.txt'), 'utf8');
    for (const pkg of ['torch>=', 'transformers>=', 'accelerate>=', 'scikit-learn>=']) expect(req).toContain(pkg);
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('accelerate launch');
    expect(readme).toContain('python train.py');
    expect(t.app.runs.artifacts(runId)).toContainEqual(expect.objectContaining({ kind: 'export', path: dir }));
    expect(leftovers(path.dirname(dir))).toEqual([]);
  });

  it.skipIf(!!noPython)(`train.py compiles and --dry-run reads the run's settings${noPython ? ` [skipped: ${noPython}]` : ''}`, () => {
    const c = spawnSync(PYTHON, ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)', path.join(dir, 'train.py'), path.join(t.dataDir, 'train.pyc')], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    const s = dryRun(dir);
    expect(s).toMatchObject({ model: path.join(dir, 'base_model'), revision: null, labels: prepared.labels, max_length: 64, truncation: true, class_weights: null, early_stopping_patience: null, freeze_encoder: false, world_size: 1, global_batch_size: 16, train_rows: prepared.trainCount, eval_rows: prepared.evalCount });
    expect(s.training_arguments).toMatchObject({
      learning_rate: 2e-5,
      num_train_epochs: 3,
      per_device_train_batch_size: 16,
      per_device_eval_batch_size: 32,
      gradient_accumulation_steps: 1,
      weight_decay: 0.01,
      max_grad_norm: 1,
      seed: 42,
      lr_scheduler_type: 'linear',
      eval_strategy: 'epoch',
      save_strategy: 'epoch',
      load_best_model_at_end: true,
      metric_for_best_model: 'accuracy',
      greater_is_better: true,
      group_by_length: false,
      report_to: 'none',
    });
    expect(s.training_arguments).not.toHaveProperty('warmup_steps');
    expect(s.training_arguments).not.toHaveProperty('warmup_ratio');
    expect(s.training_arguments).not.toHaveProperty('eval_steps');
  });

  it.skipIf(!!noPython)(`every option maps: steps evaluation, early stopping, class weights, warm-up, accumulation, frozen encoder, several processes${noPython ? ` [skipped: ${noPython}]` : ''}`, async () => {
    const weights = prepared.labels.map((_, i) => 0.5 + i * 0.25);
    const id = await fakeRun(
      t.dataDir,
      t.app.runs,
      runConfig(t.dataDir, prepared, 'bert', {
        batchSize: 16,
        gradientAccumulationSteps: 2,
        evalEverySteps: 5,
        earlyStoppingPatience: 2,
        bestMetric: 'eval_loss',
        classWeights: weights,
        warmupSteps: 10,
        warmupRatio: 0.2,
        groupByLength: true,
        freezeEncoder: true,
        seed: 7,
        maxGradNorm: 0.5,
      }),
    );
    const out = path.join(t.dataDir, 'recipes', 'options');
    await exportRecipe(t.dataDir, id, out);
    const s = dryRun(out, { WORLD_SIZE: '4' });
    expect(s).toMatchObject({ class_weights: weights, early_stopping_patience: 2, freeze_encoder: true, world_size: 4, global_batch_size: 32 });
    expect(s.training_arguments).toMatchObject({
      per_device_train_batch_size: 4,
      gradient_accumulation_steps: 2,
      eval_strategy: 'steps',
      save_strategy: 'steps',
      eval_steps: 5,
      save_steps: 5,
      metric_for_best_model: 'loss',
      greater_is_better: false,
      warmup_steps: 10,
      group_by_length: true,
      seed: 7,
      data_seed: 7,
      max_grad_norm: 0.5,
    });
    expect(s.training_arguments).not.toHaveProperty('warmup_ratio');
    const uneven = dryRun(out, { WORLD_SIZE: '3' });
    expect(uneven.training_arguments.per_device_train_batch_size).toBe(5);
    expect(uneven.notes[0]).toMatch(/does not divide among 3 processes/);
    expect(dryRun(out, {}, ['--per-device-batch-size', '64']).training_arguments.per_device_train_batch_size).toBe(64);

    const ratio = await fakeRun(t.dataDir, t.app.runs, runConfig(t.dataDir, prepared, 'bert', { warmupRatio: 0.1 }));
    const out2 = path.join(t.dataDir, 'recipes', 'ratio');
    await exportRecipe(t.dataDir, ratio, out2);
    expect(dryRun(out2).training_arguments.warmup_ratio).toBe(0.1);
  });

  it('a Hub model is named by its id and cached revision (no copy); missing prepared data is refused, nothing written', async () => {
    const commit = 'a'.repeat(40);
    const config = runConfig(t.dataDir, prepared, 'bert');
    const id = await fakeRun(t.dataDir, t.app.runs, config);
    // Pretend the run trained from a Hub snapshot.
    const hubConfig = { ...config, model: { source: 'google/bert_uncased_L-2_H-128_A-2', path: `/cache/hub/models--google--bert_uncased_L-2_H-128_A-2/snapshots/${commit}` } };
    fs.writeFileSync(path.join(t.dataDir, 'runs', id, 'config.json'), JSON.stringify(hubConfig));
    expect(hubSource(hubConfig)).toEqual({ repo: 'google/bert_uncased_L-2_H-128_A-2', commit });
    expect(hubSource(config)).toBeNull();
    const out = path.join(t.dataDir, 'recipes', 'hub');
    const r = await exportRecipe(t.dataDir, id, out);
    expect(r.files.some((f) => f.startsWith('base_model/'))).toBe(false);
    const written = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(written.model).toEqual({ source: 'google/bert_uncased_L-2_H-128_A-2', path: 'google/bert_uncased_L-2_H-128_A-2' });
    expect(written.recipe).toMatchObject({ localModel: false, revision: commit });
    if (!noPython) expect(dryRun(out)).toMatchObject({ model: 'google/bert_uncased_L-2_H-128_A-2', revision: commit });

    const gone = { ...config, dataset: { ...config.dataset, fingerprint: 'f'.repeat(64), path: path.join(t.dataDir, 'nowhere') } };
    const id2 = await fakeRun(t.dataDir, t.app.runs, config);
    fs.writeFileSync(path.join(t.dataDir, 'runs', id2, 'config.json'), JSON.stringify(gone));
    const dest = path.join(t.dataDir, 'recipes', 'gone');
    await expect(exportRecipe(t.dataDir, id2, dest)).rejects.toThrow(/prepared data of run .* is gone; prepare the same file/);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('finetune export --format recipe', async () => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), isTTY: false };
    const out = path.join(t.dataDir, 'recipes', 'cli');
    expect(await exportCommand(t.app, [runId, '--format', 'recipe', '--out', out], io)).toBe(0);
    expect(lines[0]).toMatch(/^Exported the training recipe of run .* \(\d+ files, .*\): /);
    expect(fs.existsSync(path.join(out, 'train.py'))).toBe(true);
  });

  it.skipIf(!!noTransformers)(`runs one tiny training step with Python transformers${noTransformers ? ` [skipped: ${noTransformers}]` : ''}`, () => {
    const r = spawnSync(PYTHON, [path.join(dir, 'train.py'), '--max-steps', '1', '--output-dir', path.join(t.dataDir, 'recipe-run')], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(t.dataDir, 'recipe-run', 'best_model', 'config.json'))).toBe(true);
  });
});

describe('model card', () => {
  const labels = ['neg', 'pos|mixed'];
  const ev = (step: number, accuracy: number, evalLoss: number): EvalMetrics => ({
    step,
    epoch: step / 10,
    evalLoss,
    accuracy,
    macroF1: accuracy - 0.05,
    perClass: labels.map((label) => ({ label, precision: accuracy, recall: accuracy, f1: accuracy, support: 5 })),
    confusion: [[4, 1], [1, 4]],
  });

  it('front matter with the Hub base model, best and final evaluations, an escaped label, a sampled curve', () => {
    const evals = Array.from({ length: 60 }, (_, i) => ev((i + 1) * 10, i === 20 ? 0.95 : 0.5 + i / 200, 1 - i / 100));
    const config = runConfig('/data', { ...prepared, labels }, 'bert', { bestMetric: 'accuracy' }, 'My | run');
    config.model = { source: 'roberta-base', path: `/c/models--roberta-base/snapshots/${'b'.repeat(40)}` };
    const card = modelCard({
      runId: 'r1',
      config,
      detail: { ...t.app.runs.get(t.app.runs.list()[0]!.id)!, evals, steps: [], status: 'completed', backend: 'wasm' },
      dataset: null,
      hub: hubSource(config),
      modelType: 'roberta',
      predictionsReport: null,
      appVersion: '9.9.9',
      exportedAt: new Date(0),
    });
    expect(card).toMatch(/^---\nlibrary_name: transformers\npipeline_tag: text-classification\nbase_model: "roberta-base"\ntags:\n- text-classification\n- "roberta"\n- finetune-studio\n/);
    expect(card).toContain('### Best evaluation: the model in this folder (epoch 21.00, step 210)');
    expect(card).toContain('### Final evaluation (epoch 60.00, step 600)');
    expect(card).toContain('| pos\\|mixed |');
    expect(card).toMatch(/\d+ of 60 evaluations shown/);
    expect(card).toContain('| 21.00 | 210 |  | 0.8000 | 95.00 % | 0.9000 | best |');
    expect(bestEvaluation(evals, 'eval_loss')!.step).toBe(600);
  });

  it('without recorded evaluations it uses the metrics recomputed from the evaluation predictions', () => {
    const config = runConfig('/data', { ...prepared, labels }, 'bert');
    const card = modelCard({
      runId: 'r2',
      config,
      detail: null,
      dataset: null,
      hub: null,
      modelType: 'bert',
      predictionsReport: { accuracy: 0.8, macroF1: 0.79, perClass: labels.map((label) => ({ label, precision: 0.8, recall: 0.8, f1: 0.8, support: 5 })), confusion: [[4, 1], [1, 4]], rows: 10 },
      appVersion: '9.9.9',
      exportedAt: new Date(0),
    });
    expect(card).not.toContain('base_model:');
    expect(card).toContain('Recomputed from the evaluation predictions of the saved model (10 rows): accuracy 80.00 %');
    expect(card).toContain('a local model folder (`bert`)');
  });

  it("names the dataset's keyword baseline beside the model's accuracy", () => {
    const config = runConfig('/data', { ...prepared, labels }, 'bert');
    const baseline = { accuracy: 0.831, macroF1: 0.82, perClass: [], confusion: [], evalLoss: 0.5, trainRows: 40, evalRows: 10, features: 100, iterations: 12, converged: true, trainSeconds: 0.1, createdAt: 0 };
    const card = modelCard({
      runId: 'r3',
      config,
      detail: null,
      dataset: { ...prepared, labels, baseline },
      hub: null,
      modelType: 'bert',
      predictionsReport: { accuracy: 0.792, macroF1: 0.79, perClass: labels.map((label) => ({ label, precision: 0.8, recall: 0.8, f1: 0.8, support: 5 })), confusion: [[4, 1], [1, 4]], rows: 10 },
      appVersion: '9.9.9',
      exportedAt: new Date(0),
    });
    expect(card).toContain('Keyword baseline (TF-IDF word 1-2 grams + logistic regression, C = 10, trained on the same training rows): accuracy 83.10 %, macro-F1 0.8200 on the same 10 rows; this model is 3.9 points below it.');
  });
});
