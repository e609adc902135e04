/** Shared by the export tests: prepared AG News samples, finished runs (trained or written directly), and the Python reference. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPreparedDataset, prepareDataset, preparedDatasetDir } from '../../src/main/data';
import type { PreparedDataset } from '../../src/shared/dataset';
import { RECOMMENDED_OPTIONS, type RunConfig, type TrainingOptions } from '../../src/shared/run-config';
import type { JsonObject } from '../../src/shared/json';
import { MODEL_DIR, PREDICTIONS_FILE, RUN_CONFIG_FILE } from '../../src/main/engine/layout';
import { runDir } from '../../src/main/paths';
import type { RunRepository } from '../../src/main/store/runs';
import { fixtureDir, REFERENCE_DIR, type Family } from '../helpers/reference';
import { agNewsSample } from '../helpers/app';

export const PYTHON = '/usr/bin/python3';
export const AG_LABEL_NAMES = { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' };

/** Why the Python reference cannot run here, or null when it can. */
export function pythonTorchProblem(): string | null {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import torch (${(r.stderr || '').trim().split('\n').at(-1)}); install python3-torch`;
}

export function pythonProblem(): string | null {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} is missing`;
  return spawnSync(PYTHON, ['--version']).status === 0 ? null : `${PYTHON} does not run`;
}

export async function prepareAgNews(dataDir: string, rows = 60, evalRatio = 0.2): Promise<PreparedDataset> {
  const csv = agNewsSample(dataDir, rows);
  return prepareDataset(
    { file: csv, mapping: { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: AG_LABEL_NAMES }, split: { kind: 'ratio', evalRatio, seed: 1 } },
    dataDir,
  );
}

export function runConfig(dataDir: string, prepared: PreparedDataset, family: Family, options: Partial<TrainingOptions> = {}, name = `${family} run`): RunConfig {
  return {
    name,
    model: { source: `${family} fixture`, path: fixtureDir(family) },
    labels: prepared.labels,
    dataset: { fingerprint: prepared.id, name: prepared.name, trainCount: prepared.trainCount, evalCount: prepared.evalCount, path: preparedDatasetDir(dataDir, prepared.id) },
    options: { ...RECOMMENDED_OPTIONS, epochs: 1, batchSize: 8, learningRate: 1e-3, maxLength: 32, evalBatchSize: 32, ...options },
  };
}

const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt'];

let fakeCount = 0;

/**
 * A finished run written directly (no training): config.json, model/ = the fixture model,
 * eval_predictions.jsonl and two recorded evaluations. Fast, for tests that need any run.
 */
export async function fakeRun(dataDir: string, runs: RunRepository, config: RunConfig, family: Family = 'bert'): Promise<string> {
  const id = `20250101-000000-fake${String(++fakeCount).padStart(2, '0')}`;
  runs.create({ id, name: config.name, config: config as unknown as JsonObject, datasetFingerprint: config.dataset.fingerprint, datasetName: config.dataset.name });
  runs.setStatus(id, 'running', { backend: 'cpu' });
  const dir = runDir(dataDir, id);
  fs.mkdirSync(path.join(dir, MODEL_DIR), { recursive: true });
  fs.writeFileSync(path.join(dir, RUN_CONFIG_FILE), JSON.stringify(config, null, 2));
  for (const f of MODEL_FILES) {
    const src = path.join(fixtureDir(family), f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, MODEL_DIR, f));
  }
  // As the trainer saves it: the run's labels in config.json.
  const modelConfig = JSON.parse(fs.readFileSync(path.join(dir, MODEL_DIR, 'config.json'), 'utf8'));
  modelConfig.id2label = Object.fromEntries(config.labels.map((l, i) => [String(i), l]));
  modelConfig.label2id = Object.fromEntries(config.labels.map((l, i) => [l, i]));
  fs.writeFileSync(path.join(dir, MODEL_DIR, 'config.json'), JSON.stringify(modelConfig, null, 2));
  const loaded = await loadPreparedDataset(dataDir, config.dataset.fingerprint);
  const k = config.labels.length;
  const lines = loaded.eval.map((r, i) => {
    const predicted = (r.label + (i % 3 === 0 ? 1 : 0)) % k;
    const probs = Array.from({ length: k }, (_, j) => (j === predicted ? 0.7 : 0.3 / (k - 1)));
    return JSON.stringify({ index: i, text: r.text, label: r.label, predicted, probs });
  });
  fs.writeFileSync(path.join(dir, PREDICTIONS_FILE), lines.join('\n') + '\n');
  runs.addSteps(id, [1, 2, 3, 4].map((s) => ({ step: s, epoch: s / 2, loss: 1.5 - s * 0.1, learningRate: 1e-3, samplesPerSecond: 10 })));
  const perClass = (acc: number) => config.labels.map((label) => ({ label, precision: acc, recall: acc, f1: acc, support: 3 }));
  const confusion = config.labels.map((_, i) => config.labels.map((__, j) => (i === j ? 2 : j === (i + 1) % k ? 1 : 0)));
  runs.addEval(id, { step: 2, epoch: 1, evalLoss: 1.2, accuracy: 0.6, macroF1: 0.55, perClass: perClass(0.6), confusion }, { metricName: 'accuracy', value: 0.6 });
  runs.addEval(id, { step: 4, epoch: 2, evalLoss: 1.25, accuracy: 0.5, macroF1: 0.45, perClass: perClass(0.5), confusion });
  runs.setStatus(id, 'completed');
  return id;
}

/** Padded model inputs from encoded rows. */
export function paddedInputs(rows: readonly { ids: number[]; typeIds: number[] }[], padId: number): { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] } {
  const t = Math.max(...rows.map((r) => r.ids.length));
  return {
    input_ids: rows.map((r) => [...r.ids, ...new Array<number>(t - r.ids.length).fill(padId)]),
    attention_mask: rows.map((r) => [...r.ids.map(() => 1), ...new Array<number>(t - r.ids.length).fill(0)]),
    token_type_ids: rows.map((r) => [...r.typeIds, ...new Array<number>(t - r.ids.length).fill(0)]),
  };
}

/** Logits of the Python reference for a model folder. */
export function referenceLogits(modelDir: string, input: object): number[][] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-ref-'));
  try {
    const file = path.join(tmp, 'in.json');
    fs.writeFileSync(file, JSON.stringify(input));
    const r = spawnSync(PYTHON, [path.join(REFERENCE_DIR, 'hf_reference.py'), 'logits', modelDir, file], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`hf_reference.py failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { logits: number[][] }).logits;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Logits of several model folders in one Python process (scripts/check-export.py imports torch once). */
export function referenceLogitsMany(jobs: readonly { dir: string; input: object }[]): number[][][] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-ref-'));
  try {
    const file = path.join(tmp, 'jobs.json');
    fs.writeFileSync(file, JSON.stringify(jobs));
    const script = path.resolve(__dirname, '../../scripts/check-export.py');
    const r = spawnSync(PYTHON, [script, path.join(REFERENCE_DIR, 'hf_reference.py'), file], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`check-export.py failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { results: { logits: number[][] }[] }).results.map((x) => x.logits);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Names left in a folder by an export that did not finish (temp and old copies). */
export function leftovers(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /\.(export|old)-|\.tmp$/.test(n)) : [];
}
