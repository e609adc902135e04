/** The model catalog, Hub downloads, local folders, models from scratch and the training-time estimate. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppApi, StartRunRequest, TrainingEstimate } from '../../shared/api';
import type { JsonObject } from '../../shared/json';
import type { ModelStart } from '../../shared/learning-check';
import { MODEL_START_FILE, SCRATCH_SHAPE_INFO, type FolderListing, type ScratchModel, type ScratchShape } from '../../shared/scratch';
import type { DownloadProgress } from '../../shared/models';
import { AppError } from '../../shared/errors';
import { classWeightsProblem } from '../../shared/run-config';
import { getPreparedDataset, sampleTrainRows } from '../data';
import { listCatalogModels } from '../hub/catalog';
import { downloadModel } from '../hub/download';
import { inspectModelFolder } from '../hf/inspect';
import { resolveModel } from '../hub/resolve';
import { BACKEND_LABELS } from '../engine/backend';
import { checkMaxLength } from '../hf/config';
import { runWorkerJob } from '../training/jobs';
import type { TaskHandle } from '../tasks';
import type { AppContext } from './context';
import type { BackendName } from '../../shared/types';

export function downloadReporter(ctx: AppContext, taskId: string | undefined, task: TaskHandle): (p: DownloadProgress) => void {
  return (p) => {
    ctx.events.emit('download-progress', { ...p, taskId: taskId ?? null });
    task.progress({ phase: p.file ? `Downloading ${p.file}` : 'Downloading', done: p.bytesDone, total: p.bytesTotal || null, unit: 'bytes', etaSeconds: p.etaSeconds });
  };
}

/** Evaluation is forward-only: about a third of a training step's work per row. */
const EVAL_COST = 1 / 3;

/** "~" and "~/x" are the user's home, as a shell reads them (the main process sees no shell). */
export function expandHome(p: string, home = os.homedir()): string {
  const t = p.trim();
  return t === '~' || t.startsWith('~/') || t.startsWith('~\\') ? path.join(home, t.slice(1)) : t;
}

/** The tokenizer that ships with the app, for models from scratch. */
export const SCRATCH_TOKENIZER = 'bert-base-uncased';

/**
 * The app's resources folder: beside the packaged app (electron-builder's extraResources puts
 * resources/tokenizers in <resourcesPath>/tokenizers), else the repository's resources/ found by
 * walking up from this bundle (out/main/..., src/main/features/... under tests, the CLI's bin).
 */
export function findTokenizerDir(name = SCRATCH_TOKENIZER, from = path.dirname(fileURLToPath(import.meta.url))): string {
  const candidates: string[] = [];
  const resourcesPath = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) candidates.push(path.join(resourcesPath, 'tokenizers', name));
  for (let dir = from; ; dir = path.dirname(dir)) {
    candidates.push(path.join(dir, 'resources', 'tokenizers', name));
    if (path.dirname(dir) === dir) break;
  }
  const found = candidates.find((c) => fs.existsSync(path.join(c, 'vocab.txt')));
  if (!found) throw new AppError('not_found', `The ${name} tokenizer that ships with the app is missing (looked in ${candidates.slice(0, 3).join(', ')}). Reinstall the app.`);
  return found;
}

/** Whether a model folder was made from scratch by the app (its marker file), else pretrained. */
export function modelStartOf(dir: string): ModelStart {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(dir, MODEL_START_FILE), 'utf8')) as { modelStart?: unknown };
    return raw.modelStart === 'scratch' ? 'scratch' : 'pretrained';
  } catch {
    return 'pretrained';
  }
}

export function scratchModelDir(dataDir: string, shape: ScratchShape): string {
  return path.join(dataDir, 'models', `scratch-${shape}`);
}

/**
 * Writes a randomly initialised BERT of the given shape with the shipped tokenizer (the engine's
 * own creation, as `finetune init`). A folder already there is reused: the seed is fixed, so it
 * would be the same weights, and a run may be reading it.
 */
export async function createScratchModel(dataDir: string, shape: ScratchShape, labels?: readonly string[], tokenizerDir = findTokenizerDir()): Promise<ScratchModel> {
  const dir = scratchModelDir(dataDir, shape);
  const marker = path.join(dir, MODEL_START_FILE);
  if (fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(marker)) {
    const recorded = JSON.parse(fs.readFileSync(marker, 'utf8')) as { parameters?: number };
    return { dir, shape, parameters: recorded.parameters ?? 0, modelStart: 'scratch' };
  }
  // The engine (and TensorFlow.js) load only when a model is made, not at the app's start.
  const [{ parseModelConfig, withLabels }, { createModel, initialiseModel }, { saveModelFolder }, { readTokenizerFiles }] = await Promise.all([
    import('../hf/config'),
    import('../engine/models/index'),
    import('../engine/save'),
    import('../engine/tokenizer'),
  ]);
  const info = SCRATCH_SHAPE_INFO[shape];
  const base = JSON.parse(fs.readFileSync(path.join(tokenizerDir, 'config.json'), 'utf8')) as JsonObject;
  const raw: JsonObject = {
    ...base,
    architectures: ['BertForSequenceClassification'],
    hidden_size: info.hidden,
    num_hidden_layers: info.layers,
    num_attention_heads: info.heads,
    intermediate_size: info.intermediate,
  };
  let config = parseModelConfig(raw, path.join(tokenizerDir, 'config.json'));
  if (labels && labels.length >= 2) config = withLabels(config, labels);
  const tokenizer = await readTokenizerFiles(tokenizerDir, config.modelType);
  const model = createModel(config);
  let parameters = 0;
  try {
    initialiseModel(model, 42);
    parameters = [...model.store.specs.values()].reduce((a, sp) => a + sp.shape.reduce((x, y) => x * y, 1), 0);
    const extra = JSON.stringify({ modelStart: 'scratch', shape, parameters, tokenizer: SCRATCH_TOKENIZER, seed: 42 }, null, 2) + '\n';
    saveModelFolder(dir, model, { sourceDir: tokenizerDir, tokenizer, extraFiles: { [MODEL_START_FILE]: extra } });
  } finally {
    model.store.dispose();
  }
  return { dir, shape, parameters, modelStart: 'scratch' };
}

/** The real path, or null when it does not exist. */
function realOrNull(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

function isUnder(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Subfolders of a folder, for the browser host's folder picker. Only the user's home and the data
 * folder are shown: a path is resolved (~, .., links) and refused when it leads outside them.
 */
export function listFolder(requested: string | undefined, roots: readonly string[]): FolderListing {
  const realRoots = [...new Set(roots.map(realOrNull).filter((r): r is string => r !== null))];
  const target = requested?.trim() ? path.resolve(expandHome(requested)) : realRoots[0];
  if (!target) throw new AppError('not_found', 'There is no folder to list.');
  const real = realOrNull(target);
  if (!real) throw new AppError('not_found', `${target}: no such folder.`, 'path');
  const root = realRoots.find((r) => isUnder(real, r));
  if (!root) throw new AppError('invalid_input', `${target} is outside the folders this page may show (your home folder and the app's data folder).`, 'path');
  if (!fs.statSync(real).isDirectory()) throw new AppError('invalid_input', `${target} is a file, not a folder.`, 'path');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(real, { withFileTypes: true });
  } catch (err) {
    throw new AppError('io', `Cannot read ${real} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, 'path');
  }
  const folders = entries
    .filter((e) => !e.name.startsWith('.'))
    .map((e) => ({ name: e.name, path: path.join(real, e.name) }))
    .filter((e) => {
      // Links are followed only when they stay inside a root.
      const r = realOrNull(e.path);
      return r !== null && realRoots.some((root) => isUnder(r, root)) && fs.statSync(r).isDirectory();
    })
    .map((e) => ({ ...e, isModel: fs.existsSync(path.join(e.path, 'config.json')) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    path: real,
    parent: realRoots.includes(real) ? null : path.dirname(real),
    roots: realRoots,
    isModel: fs.existsSync(path.join(real, 'config.json')),
    folders,
  };
}

export function modelsApi(ctx: AppContext): Pick<AppApi, 'listModels' | 'downloadModel' | 'inspectModelFolder' | 'createScratchModel' | 'listFolder' | 'estimateTraining'> {
  return {
    listModels: async () => listCatalogModels(),
    downloadModel: (repo, revision, taskId) =>
      ctx.tasks.run(taskId, async (task) => {
        const r = await downloadModel(repo, { revision, signal: task.signal, onProgress: downloadReporter(ctx, taskId, task) });
        return { repo: r.repo, dir: r.dir };
      }),
    inspectModelFolder: (dir) => inspectModelFolder(expandHome(dir)),
    createScratchModel: ({ shape, labels }) => createScratchModel(ctx.dataDir, shape, labels),
    listFolder: async (p) => listFolder(p, [os.homedir(), ctx.dataDir]),
    estimateTraining: (request: StartRunRequest, taskId) =>
      ctx.tasks.run(taskId, async (task): Promise<TrainingEstimate> => {
        const meta = getPreparedDataset(ctx.dataDir, request.datasetId);
        const weights = classWeightsProblem(request.options.classWeights, meta.labels.length);
        if (weights) throw new AppError('invalid_input', `The training options are not valid: ${weights}.`, 'options.classWeights');
        const model = await resolveModel(request.model, { offline: true, signal: task.signal }).catch(() => {
          throw new AppError('not_found', `${request.model} is not on this machine yet: download it first, then the estimate can be measured.`);
        });
        checkMaxLength(model.dir, request.options.maxLength);
        // 64 rows spread over the file (the longest texts matter as much as the first ones), not all of them.
        const rows = await sampleTrainRows(ctx.dataDir, request.datasetId, 64);
        let backend: BackendName | null = null;
        const o = request.options;
        const r = await runWorkerJob(
          ctx.workers,
          { kind: 'benchmark', modelDir: model.dir, labels: meta.labels, rows, batchSize: o.batchSize, maxLength: o.maxLength, freezeEncoder: o.freezeEncoder, steps: 3 },
          (m) => {
            if (m.type === 'backend') backend = m.backend.name;
            return m.type === 'benchmark' ? m : undefined;
          },
          {
            signal: task.signal,
            what: 'Measuring training speed',
            onProgress: (done, total) => task.progress({ phase: 'Measuring training speed', done, total, unit: 'steps', etaSeconds: null }),
          },
        );
        const secondsPerEpoch = meta.trainCount / r.samplesPerSecond;
        const evalSeconds = (meta.evalCount / r.samplesPerSecond) * EVAL_COST;
        return {
          backend: backend ? BACKEND_LABELS[backend as BackendName] : 'unknown',
          samplesPerSecond: r.samplesPerSecond,
          secondsPerEpoch,
          secondsTotal: o.epochs * (secondsPerEpoch + evalSeconds),
        };
      }),
  };
}
