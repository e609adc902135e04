/**
 * Export of a run's best model as a Hugging Face folder: the files of <run>/model (weights,
 * tokenizer files), config.json with the run's labels as id2label/label2id, and a README.md
 * model card. The folder loads with transformers' AutoModelForSequenceClassification and
 * AutoTokenizer. It is written beside the destination and renamed into place when complete.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DataProgress } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import type { ExportResult as SharedExportResult } from '../../shared/api';
import { throwIfAborted } from '../data/progress';
import type { JsonObject } from '../../shared/json';
import { parseSafetensors } from '../hf/safetensors';
import { APP_VERSION } from '../version';
import type { RunRepository } from '../store/runs';
import { writeFolder } from './destination';
import { evalPredictionsReport } from './eval-predictions';
import { modelCard } from './model-card';
import { hubSource, exportGuard, loadRunSource, runDataset, type RunSource } from './run-source';

export interface ExportOptions {
  /** The runs repository: metrics for the model card, and the export is recorded as an artifact. */
  runs?: RunRepository;
  /** Replace a non-empty destination folder that is not an earlier export. */
  overwrite?: boolean;
  onProgress?: (p: DataProgress) => void;
  signal?: AbortSignal;
}

/** The AppApi's ExportResult, with the byte count every writer here fills in. */
export type ExportResult = SharedExportResult & { bytes: number };

/** Files of the model folder that are not copied as they are. */
const REWRITTEN = new Set(['config.json', 'README.md']);

/** An export stops before its rename: nothing is written when it is cancelled. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  throwIfAborted(signal, what, 'nothing was written');
}

/** config.json of the export: the model's, with the run's labels and the single-label problem type. */
export function exportedModelConfig(modelDir: string, labels: readonly string[], runId: string): JsonObject {
  const file = path.join(modelDir, 'config.json');
  let raw: JsonObject;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonObject;
  } catch (err) {
    throw new AppError('io', `${file} cannot be read (${(err as Error).message}); the model of run ${runId} is damaged. Resume or retrain the run.`);
  }
  const id2label = raw.id2label as Record<string, string> | undefined;
  if (id2label && Object.keys(id2label).length !== labels.length) {
    throw new AppError('io', `${file} has ${Object.keys(id2label).length} labels but run ${runId} has ${labels.length}; the model folder does not belong to this run.`);
  }
  const config: JsonObject = { ...raw };
  delete config._name_or_path;
  config.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  config.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
  delete config.num_labels;
  config.problem_type = 'single_label_classification';
  return config;
}

/** Checks the copied weights: a readable safetensors header whose tensors cover the file. */
function checkWeights(dir: string, runId: string): void {
  const file = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(file)) {
    if (fs.existsSync(path.join(dir, 'model.safetensors.index.json'))) return;
    throw new AppError('io', `The model of run ${runId} has no model.safetensors; resume or retrain the run.`);
  }
  try {
    parseSafetensors(fs.readFileSync(file), file);
  } catch (err) {
    throw new AppError('io', `The weights of run ${runId} are damaged (${(err as Error).message}); resume or retrain the run.`);
  }
}

async function copyWithProgress(src: string, dst: string, onChunk: (n: number) => void, signal: AbortSignal | undefined, what: string): Promise<void> {
  const CHUNK = 8 << 20;
  const size = fs.statSync(src).size;
  if (size <= CHUNK) {
    fs.copyFileSync(src, dst);
    onChunk(size);
    return;
  }
  const input = await fs.promises.open(src, 'r');
  const output = await fs.promises.open(dst, 'w');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    for (;;) {
      throwIfCancelled(signal, what);
      const { bytesRead } = await input.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      let off = 0;
      while (off < bytesRead) off += (await output.write(buf, off, bytesRead - off)).bytesWritten;
      pos += bytesRead;
      onChunk(bytesRead);
    }
    await output.sync();
  } finally {
    await input.close();
    await output.close();
  }
}

/** The model card text of a run (also used by tests and the UI preview). */
export async function runModelCard(source: RunSource, modelType: string, signal?: AbortSignal): Promise<string> {
  const predictionsReport =
    (source.detail?.evals.length ?? 0) === 0 && source.predictionsFile
      ? await evalPredictionsReport(source.predictionsFile, source.config.labels, signal).catch(() => null)
      : null;
  return modelCard({
    runId: source.runId,
    config: source.config,
    detail: source.detail,
    dataset: runDataset(source),
    hub: hubSource(source.config),
    modelType,
    predictionsReport,
    appVersion: APP_VERSION,
    exportedAt: new Date(),
  });
}

/**
 * Writes the run's model as a Hugging Face folder at outDir. Refuses a non-empty folder that is
 * not an earlier export unless overwrite; records the export as an artifact when runs is given.
 */
export async function exportHuggingFace(dataDir: string, runId: string, outDir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const source = loadRunSource(dataDir, runId, options.runs);
  const what = `Exporting run ${runId}`;
  throwIfCancelled(options.signal, what);
  const config = exportedModelConfig(source.modelDir, source.config.labels, runId);
  const modelType = typeof config.model_type === 'string' ? config.model_type : 'bert';
  const entries = fs.readdirSync(source.modelDir, { withFileTypes: true }).filter((e) => e.isFile() && !REWRITTEN.has(e.name) && !e.name.startsWith('.'));
  const total = entries.reduce((a, e) => a + fs.statSync(path.join(source.modelDir, e.name)).size, 0);
  let done = 0;
  const started = Date.now();
  const report = (force = false): void => {
    if (!options.onProgress) return;
    const elapsed = (Date.now() - started) / 1000;
    if (!force && elapsed < 0.2 && done < total) return;
    options.onProgress({ phase: 'copying', done, total, unit: 'bytes', etaSeconds: done > 0 && elapsed > 0.25 ? ((total - done) * elapsed) / done : null });
  };
  const card = await runModelCard(source, modelType, options.signal);
  const { target, result } = await writeFolder(
    outDir,
    { overwrite: options.overwrite, protect: exportGuard(source) },
    async (dir) => {
      report(true);
      for (const e of entries) {
        throwIfCancelled(options.signal, what);
        await copyWithProgress(path.join(source.modelDir, e.name), path.join(dir, e.name), (n) => {
          done += n;
          report();
        }, options.signal, what);
      }
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      fs.writeFileSync(path.join(dir, 'README.md'), card);
      checkWeights(dir, runId);
      throwIfCancelled(options.signal, what);
      const files = fs.readdirSync(dir).sort();
      const bytes = files.reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
      return { files, bytes };
    },
  );
  done = total;
  report(true);
  options.runs?.addArtifact(runId, 'export', target);
  return { format: 'hf', path: target, ...result };
}
