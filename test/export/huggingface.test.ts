/**
 * Hugging Face folder export of trained runs (the forked engine worker trains the tiny fixture
 * models on an AG News sample): the folder's files, the model card, the refusal to replace a
 * foreign folder, cancel, and logits of the exported folder in the independent Python
 * reference equal to the engine's within 1e-4, for the four model families.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedDataset } from '../../src/shared/dataset';
import { AppError } from '../../src/shared/errors';
import { exportCommand } from '../../src/main/cli/export';
import { Predictor } from '../../src/main/engine/inference';
import { MODEL_DIR } from '../../src/main/engine/layout';
import { exportHuggingFace, exportRecipe } from '../../src/main/export/index';
import { runDir } from '../../src/main/paths';
import { APP_VERSION } from '../../src/main/version';
import { setTestBackend, maxAbsDiff } from '../helpers/engine';
import { testApp, type TestApp } from '../helpers/app';
import { FAMILIES, type Family } from '../helpers/reference';
import { leftovers, paddedInputs, prepareAgNews, pythonTorchProblem, referenceLogitsMany, runConfig } from './helpers';

let t: TestApp;
let prepared: PreparedDataset;
const torchProblem = pythonTorchProblem();
if (torchProblem) console.warn(`Python reference checks skipped: ${torchProblem}`);

const TEXTS = [
  'Stocks rallied on Wall Street as oil prices fell.',
  'The striker scored twice in the final minutes of the match.',
  'A new chip promises faster phones and longer battery life, researchers say.',
  'Leaders met in Geneva to discuss the ceasefire.',
  'short',
];

beforeAll(async () => {
  await setTestBackend('cpu');
  t = testApp({ env: { FINETUNE_BACKEND: 'cpu' } });
  prepared = await prepareAgNews(t.dataDir);
});
afterAll(() => t?.cleanup());

async function train(family: Family, epochs: number): Promise<string> {
  const run = await t.app.training.start(runConfig(t.dataDir, prepared, family, { epochs, batchSize: 16 }, `${family} export test`));
  const end = await t.app.training.wait(run.id);
  expect(end.status, end.error ?? '').toBe('completed');
  return run.id;
}

interface Exported {
  family: Family;
  runId: string;
  dir: string;
}

/** Engine logits of the exported folder, max difference to the run's own model (a copy: 0), and the encoded inputs. */
async function engineLogits(e: Exported, maxLength: number): Promise<{ logits: Float32Array; copy: number; input: ReturnType<typeof paddedInputs> }> {
  const exported = await Predictor.load(e.dir);
  const original = await Predictor.load(path.join(runDir(t.dataDir, e.runId), MODEL_DIR));
  try {
    const logits = await exported.logits(TEXTS, { maxLength, batchSize: 2 });
    const copy = maxAbsDiff(logits, await original.logits(TEXTS, { maxLength, batchSize: 2 }));
    const tok = exported.loaded.tokenizer;
    return { logits, copy, input: paddedInputs(TEXTS.map((s) => tok.encode(s, maxLength)), tok.padId) };
  } finally {
    await exported.dispose();
    await original.dispose();
  }
}

describe('Hugging Face folder export', () => {
  let runId = '';
  let out = '';

  it('writes config with the labels, weights, tokenizer files and a model card; registers the artifact', async () => {
    runId = await train('bert', 2);
    out = path.join(t.dataDir, 'exports', 'bert-hf');
    const progress: number[] = [];
    const result = await exportHuggingFace(t.dataDir, runId, out, { runs: t.app.runs, onProgress: (p) => progress.push(p.done) });
    expect(result.path).toBe(out);
    expect(result.files).toEqual(expect.arrayContaining(['README.md', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']));
    expect(progress.at(-1)).toBeGreaterThan(0);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: 'World', 1: 'Sports', 2: 'Business', 3: 'Sci/Tech' });
    expect(config.label2id).toEqual({ World: 0, Sports: 1, Business: 2, 'Sci/Tech': 3 });
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
    expect(config.problem_type).toBe('single_label_classification');
    expect(fs.readFileSync(path.join(out, 'model.safetensors'))).toEqual(fs.readFileSync(path.join(runDir(t.dataDir, runId), MODEL_DIR, 'model.safetensors')));
    const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(card.startsWith('---\nlibrary_name: transformers\npipeline_tag: text-classification\n')).toBe(true);
    expect(card).not.toMatch(/^base_model:/m); // a local fixture, not a Hub model
    expect(card).toContain(prepared.id);
    expect(card).toContain(`${prepared.trainCount} for training, ${prepared.evalCount} for evaluation`);
    expect(card).toMatch(/\| learning rate \| 0\.001 \|/);
    expect(card).toMatch(/### Best evaluation: the model in this folder/);
    expect(card).toMatch(/\| label \| precision \| recall \| F1 \| support \|/);
    expect(card).toMatch(/\| Sci\/Tech \| \d+\.\d{4} \|/);
    expect(card).toMatch(/## Training curve/);
    expect(card).toContain(`Finetune Studio ${APP_VERSION}`);
    expect(card).toContain('backend `cpu`');
    expect(card).not.toContain(t.dataDir); // no local paths
    expect(t.app.runs.artifacts(runId)).toContainEqual(expect.objectContaining({ kind: 'export', path: out }));
    expect(leftovers(path.dirname(out))).toEqual([]);
  });

  it('refuses a non-empty foreign folder, replaces it with overwrite, and replaces an earlier export without asking', async () => {
    const foreign = path.join(t.dataDir, 'exports', 'my-documents');
    fs.mkdirSync(foreign, { recursive: true });
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'keep me');
    const err = await exportHuggingFace(t.dataDir, runId, foreign).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('conflict');
    expect((err as AppError).message).toMatch(/not empty.*--overwrite/);
    expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);
    await exportHuggingFace(t.dataDir, runId, foreign, { overwrite: true });
    expect(fs.existsSync(path.join(foreign, 'notes.txt'))).toBe(false);
    expect(fs.existsSync(path.join(foreign, 'model.safetensors'))).toBe(true);
    // An earlier export is replaced; an empty folder is used.
    await exportHuggingFace(t.dataDir, runId, out);
    const empty = path.join(t.dataDir, 'exports', 'empty');
    fs.mkdirSync(empty);
    await exportHuggingFace(t.dataDir, runId, empty);
    expect(fs.existsSync(path.join(empty, 'config.json'))).toBe(true);
    expect(leftovers(path.join(t.dataDir, 'exports'))).toEqual([]);
  });

  it('refuses destinations inside the run (except exports/) or containing it, unknown runs, and stops on cancel leaving nothing', async () => {
    const inRun = path.join(runDir(t.dataDir, runId), 'model-copy');
    await expect(exportHuggingFace(t.dataDir, runId, inRun)).rejects.toThrow(/inside the folder of run/);
    await expect(exportHuggingFace(t.dataDir, runId, t.dataDir, { overwrite: true })).rejects.toThrow(/contains the folder of run/);
    const inExports = path.join(runDir(t.dataDir, runId), 'exports', 'hf');
    await exportHuggingFace(t.dataDir, runId, inExports);
    expect(fs.existsSync(path.join(inExports, 'README.md'))).toBe(true);
    await expect(exportHuggingFace(t.dataDir, 'no-such-run', path.join(t.dataDir, 'x'), { runs: t.app.runs })).rejects.toMatchObject({ code: 'not_found' });
    await expect(exportHuggingFace(t.dataDir, '../../etc', path.join(t.dataDir, 'x'))).rejects.toMatchObject({ code: 'invalid_input' });
    const controller = new AbortController();
    const cancelled = path.join(t.dataDir, 'exports', 'cancelled');
    const p = exportHuggingFace(t.dataDir, runId, cancelled, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(p).rejects.toMatchObject({ code: 'cancelled' });
    expect(fs.existsSync(cancelled)).toBe(false);
    expect(leftovers(path.join(t.dataDir, 'exports'))).toEqual([]);
  });

  it('finetune export --format hf: one line on success, exit codes 2 (usage) and 1 (failure)', async () => {
    const lines: string[] = [];
    const errs: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => errs.push(l), isTTY: false };
    const dest = path.join(t.dataDir, 'cli-hf');
    expect(await exportCommand(t.app, [runId, '--format', 'hf', '--out', dest, '--json'], io)).toBe(0);
    const json = JSON.parse(lines.at(-1)!);
    expect(json).toMatchObject({ run_id: runId, format: 'hf', path: dest });
    expect(json.files).toContain('model.safetensors');
    expect(await exportCommand(t.app, [runId, '--out', dest], io)).toBe(2);
    expect(errs.at(-1)).toMatch(/^finetune export: --format is required/);
    expect(await exportCommand(t.app, [runId, '--format', 'onnx'], io)).toBe(2);
    expect(await exportCommand(t.app, ['20990101-000000-abcdef', '--format', 'hf', '--out', dest], io)).toBe(1);
    expect(errs.at(-1)).toMatch(/^finetune export: There is no run "20990101-000000-abcdef"/);
    fs.writeFileSync(path.join(t.dataDir, 'foreign.txt'), 'x');
    expect(await exportCommand(t.app, [runId, '--format', 'hf', '--out', t.dataDir], io)).toBe(2);
    expect(errs.every((e) => !e.includes('\n'))).toBe(true);
  });

  it(`the other families (one short epoch each) export too; every exported folder gives the engine's logits in the Python reference${torchProblem ? ` [reference skipped: ${torchProblem}]` : ''}`, async () => {
    const exported: Exported[] = [{ family: 'bert', runId, dir: out }];
    for (const family of FAMILIES.filter((f) => f !== 'bert')) {
      const id = await train(family, 1);
      const dest = path.join(t.dataDir, 'exports', `${family}-hf`);
      await exportHuggingFace(t.dataDir, id, dest, { runs: t.app.runs });
      expect(JSON.parse(fs.readFileSync(path.join(dest, 'config.json'), 'utf8')).model_type).toBe(family);
      exported.push({ family, runId: id, dir: dest });
    }
    const engine: Awaited<ReturnType<typeof engineLogits>>[] = [];
    for (const e of exported) engine.push(await engineLogits(e, 32));
    for (const e of engine) expect(e.copy).toBe(0);
    // FINETUNE_EXPORT_CHECK_DIR=DIR keeps the exported folders and the engine's logits for
    // scripts/gpu-export-check.sh (Python transformers on another machine).
    const keep = process.env.FINETUNE_EXPORT_CHECK_DIR;
    if (keep) {
      exported.forEach((e, i) => {
        fs.cpSync(e.dir, path.join(keep, e.family), { recursive: true });
        const { logits, input } = engine[i]!;
        const k = logits.length / TEXTS.length;
        const rows = TEXTS.map((_, r) => Array.from(logits.subarray(r * k, (r + 1) * k)));
        fs.writeFileSync(path.join(keep, `${e.family}.logits.json`), JSON.stringify({ family: e.family, texts: TEXTS, max_length: 32, ...input, logits: rows }));
      });
      await exportRecipe(t.dataDir, runId, path.join(keep, 'recipe'), { overwrite: true });
    }
    if (torchProblem) return;
    const reference = referenceLogitsMany(exported.map((e, i) => ({ dir: e.dir, input: engine[i]!.input })));
    exported.forEach((e, i) => {
      const diff = maxAbsDiff(engine[i]!.logits, reference[i]!.flat());
      console.info(`${e.family}: max |engine - python reference| logits of the exported folder = ${diff.toExponential(2)}`);
      expect(diff, e.family).toBeLessThan(1e-4);
    });
  });
});
