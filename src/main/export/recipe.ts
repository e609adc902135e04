/**
 * A training recipe for users who outgrow one machine: train.py (transformers.Trainer, runs as
 * is under `accelerate launch`), config.json (the run's RunConfig, paths made relative), the
 * prepared data the run trained on, requirements.txt and a README. A run that started from a
 * local model folder gets a copy of it in base_model/; a Hub model is named by its id and the
 * cached revision.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PreparedDataset } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import type { JsonObject } from '../../shared/json';
import type { RunConfig } from '../../shared/run-config';
import { APP_VERSION } from '../version';
import { EXPORT_MARKER, writeFolder } from './destination';
import { throwIfCancelled, type ExportOptions, type ExportResult } from './huggingface';
import { hubSource, exportGuard, loadRunSource, runDataset, runDatasetDir, type HubSource } from './run-source';
import { TRAIN_PY } from './recipe-train-py';

export const RECIPE_REQUIREMENTS = [
  '# Python 3.9 or newer. Install with: pip install -r requirements.txt',
  'torch>=2.1',
  'transformers>=4.41',
  'accelerate>=0.26',
  'scikit-learn>=1.2',
  'numpy>=1.23',
  '',
].join('\n');

export const BASE_MODEL_DIR = 'base_model';

/** config.json of the recipe: the RunConfig with its local paths replaced by what train.py reads. */
export function recipeConfig(config: RunConfig, hub: HubSource | null, runId: string): JsonObject {
  const localModel = hub === null;
  return {
    name: config.name,
    model: { source: localModel ? path.basename(config.model.path) : config.model.source, path: localModel ? BASE_MODEL_DIR : hub.repo },
    labels: config.labels,
    dataset: { ...config.dataset, path: 'data' },
    options: { ...config.options },
    recipe: { runId, appVersion: APP_VERSION, localModel, revision: hub?.commit ?? null },
  } as unknown as JsonObject;
}

export function recipeReadme(config: RunConfig, hub: HubSource | null, runId: string): string {
  const o = config.options;
  const model = hub ? `\`${hub.repo}\`${hub.commit ? ` at revision \`${hub.commit.slice(0, 12)}\`` : ''} (downloaded from the Hugging Face Hub on first use)` : `the local model folder copied into \`${BASE_MODEL_DIR}/\``;
  return [
    `${EXPORT_MARKER} ${JSON.stringify({ format: 'recipe', run: runId, app: APP_VERSION })} -->`,
    '',
    `# Training recipe: ${config.name.replace(/[\r\n]+/g, ' ')}`,
    '',
    `This folder reproduces Finetune Studio run \`${runId}\` with Hugging Face \`transformers.Trainer\`: the same model (${model}),`,
    `the same ${config.labels.length} labels, the same prepared data (${config.dataset.trainCount} training and ${config.dataset.evalCount} evaluation rows,`,
    `fingerprint \`${config.dataset.fingerprint.slice(0, 16)}…\`) and the same options: learning rate ${o.learningRate}, batch ${o.batchSize},`,
    `${o.epochs} epoch(s), max length ${o.maxLength}, weight decay ${o.weightDecay}.`,
    '',
    '## Files',
    '',
    '- `train.py`: the training script (reads everything below; `python train.py --help` lists its options)',
    '- `config.json`: the run configuration (model, labels, options)',
    '- `data/train.jsonl`, `data/eval.jsonl`: the prepared rows, one `{"text": ..., "label": N}` per line (N indexes the labels); `data/dataset.json` holds their sha256',
    hub ? null : `- \`${BASE_MODEL_DIR}/\`: the model the run started from`,
    '- `requirements.txt`: the Python packages',
    '',
    '## Run it',
    '',
    '```bash',
    'python -m venv .venv && . .venv/bin/activate   # Windows: .venv\\Scripts\\activate',
    'pip install -r requirements.txt                # pick the torch build for your CUDA from pytorch.org',
    'python train.py --dry-run                      # print the settings, train nothing',
    'python train.py                                # one GPU (or the CPU)',
    '```',
    '',
    'On several GPUs of one machine, one process per GPU:',
    '',
    '```bash',
    'accelerate launch --multi_gpu --num_processes 4 train.py',
    '# or, after `accelerate config` once:',
    'accelerate launch train.py',
    '```',
    '',
    'On several machines, run `accelerate config` on each (or pass `--num_machines`, `--machine_rank`, `--main_process_ip`) and start the same command everywhere.',
    '',
    `The global batch stays ${o.batchSize}${o.gradientAccumulationSteps > 1 ? ` (times ${o.gradientAccumulationSteps} accumulation steps)` : ''}: each process gets the batch size divided by the number of processes.`,
    'To use bigger batches on bigger GPUs, pass `--per-device-batch-size N` (and consider a higher learning rate). `--fp16` or `--bf16` trains in mixed precision; the run itself trained in float32.',
    '',
    'The best model (by ' + o.bestMetric + ') is saved to `output/best_model/`, a Hugging Face folder that `AutoModelForSequenceClassification` loads; the evaluation metrics go to `output/eval_results.json`.',
    '',
    '## What matches the app, and what cannot',
    '',
    '- Same: AdamW (0.9, 0.999, 1e-8) with decoupled weight decay except biases and LayerNorm weights, linear warm-up and decay, gradient clipping, dynamic padding, truncation that keeps the final separator, evaluation ' +
      (o.evalEverySteps === null ? 'after each epoch' : `every ${o.evalEverySteps} steps`) +
      ', the best model kept' +
      (o.earlyStoppingPatience !== null ? `, early stopping after ${o.earlyStoppingPatience} evaluation(s) without improvement` : '') +
      (o.classWeights ? ', the class-weighted loss' : '') +
      (o.freezeEncoder ? ', only the classification head trained' : '') +
      (o.groupByLength ? ', batches grouped by length' : '') +
      '.',
    '- Different: the shuffling order and dropout masks come from PyTorch\'s random generators, not the app\'s, so the numbers agree statistically (typically within a few tenths of a point of accuracy), not digit for digit.',
    '',
    `Exported by Finetune Studio ${APP_VERSION}.`,
    '',
  ]
    .filter((l) => l !== null)
    .join('\n');
}

/** Copies a file, returning its sha256. */
function copyHashed(src: string, dst: string): string {
  const hash = createHash('sha256');
  const input = fs.openSync(src, 'r');
  const output = fs.openSync(dst, 'w');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(input, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      let off = 0;
      while (off < n) off += fs.writeSync(output, buf, off, n - off);
    }
  } finally {
    fs.closeSync(input);
    fs.closeSync(output);
  }
  return hash.digest('hex');
}

function datasetSummary(meta: PreparedDataset | null, config: RunConfig, shas: { train: string; eval: string }): JsonObject {
  return {
    id: config.dataset.fingerprint,
    name: meta?.name ?? config.dataset.name,
    labels: config.labels,
    trainCount: config.dataset.trainCount,
    evalCount: config.dataset.evalCount,
    classCounts: meta?.classCounts ?? [],
    contentSha256: shas,
  } as unknown as JsonObject;
}

/** Writes the training recipe of a run to outDir (see the module comment). */
export async function exportRecipe(dataDir: string, runId: string, outDir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const source = loadRunSource(dataDir, runId, options.runs);
  const what = `Exporting the recipe of run ${runId}`;
  const config = source.config;
  const hub = hubSource(config);
  const meta = runDataset(source);
  const dataFolder = runDatasetDir(source);
  for (const f of ['train.jsonl', 'eval.jsonl']) {
    if (!fs.existsSync(path.join(dataFolder, f))) {
      throw new AppError(
        'not_found',
        `The prepared data of run ${runId} (${path.join(dataFolder, f)}) is gone; prepare the same file with the same settings again (it gets the same fingerprint ${config.dataset.fingerprint.slice(0, 12)}), then export.`,
      );
    }
  }
  if (!hub && !fs.existsSync(path.join(config.model.path, 'config.json'))) {
    throw new AppError(
      'not_found',
      `The model folder run ${runId} started from (${config.model.path}) is gone; the recipe needs it. Put it back, or export the Hugging Face folder instead.`,
    );
  }
  throwIfCancelled(options.signal, what);
  const baseFiles = hub ? [] : fs.readdirSync(config.model.path, { withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name);
  const total =
    fs.statSync(path.join(dataFolder, 'train.jsonl')).size +
    fs.statSync(path.join(dataFolder, 'eval.jsonl')).size +
    baseFiles.reduce((a, f) => a + fs.statSync(path.join(config.model.path, f)).size, 0);
  let done = 0;
  const started = Date.now();
  const progress = (n: number): void => {
    done += n;
    const elapsed = (Date.now() - started) / 1000;
    options.onProgress?.({ phase: 'copying', done, total, unit: 'bytes', etaSeconds: done > 0 && elapsed > 0.25 ? ((total - done) * elapsed) / done : null });
  };

  const { target, result } = await writeFolder(
    outDir,
    { overwrite: options.overwrite, protect: exportGuard(source) },
    async (dir) => {
      fs.mkdirSync(path.join(dir, 'data'));
      const shas = { train: '', eval: '' };
      for (const split of ['train', 'eval'] as const) {
        throwIfCancelled(options.signal, what);
        const src = path.join(dataFolder, `${split}.jsonl`);
        shas[split] = copyHashed(src, path.join(dir, 'data', `${split}.jsonl`));
        const expected = meta?.contentSha256?.[split];
        if (expected && expected !== shas[split]) {
          throw new AppError('io', `${src} was changed after it was prepared (its sha256 differs); prepare the dataset again, then export.`);
        }
        progress(fs.statSync(src).size);
        await new Promise((r) => setImmediate(r));
      }
      fs.writeFileSync(path.join(dir, 'data', 'dataset.json'), JSON.stringify(datasetSummary(meta, config, shas), null, 2) + '\n');
      if (!hub) {
        fs.mkdirSync(path.join(dir, BASE_MODEL_DIR));
        for (const f of baseFiles) {
          throwIfCancelled(options.signal, what);
          fs.copyFileSync(path.join(config.model.path, f), path.join(dir, BASE_MODEL_DIR, f));
          progress(fs.statSync(path.join(config.model.path, f)).size);
          await new Promise((r) => setImmediate(r));
        }
      }
      fs.writeFileSync(path.join(dir, 'train.py'), TRAIN_PY, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(recipeConfig(config, hub, runId), null, 2) + '\n');
      fs.writeFileSync(path.join(dir, 'requirements.txt'), RECIPE_REQUIREMENTS);
      fs.writeFileSync(path.join(dir, 'README.md'), recipeReadme(config, hub, runId));
      throwIfCancelled(options.signal, what);
      const files: string[] = [];
      let bytes = 0;
      const walk = (d: string, rel: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
          else {
            files.push(`${rel}${e.name}`);
            bytes += fs.statSync(path.join(d, e.name)).size;
          }
        }
      };
      walk(dir, '');
      return { files, bytes };
    },
  );
  options.runs?.addArtifact(runId, 'export', target);
  return { format: 'recipe', path: target, ...result };
}
