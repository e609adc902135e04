/** Runs on AppApi: list, inspect, rename, delete, start, cancel, resume, rerun, predictions, exports. */
import fs from 'node:fs';
import path from 'node:path';
import type { AppApi, StartRunRequest } from '../../shared/api';
import { AppError, appErrorFromErrno } from '../../shared/errors';
import { runConfigSchema, type MlmStage, type RunConfig } from '../../shared/run-config';
import type { EvalPrediction, RunLogLine, RunSummary } from '../../shared/types';
import { getPreparedDataset, preparedDatasetDir } from '../data';
import { checkMaxLength } from '../hf/config';
import { MODEL_DIR, PREDICTIONS_FILE, TRAIN_LOG_FILE } from '../engine/layout';
import { removeDirSafely } from '../fsutil';
import { resolveModel } from '../hub/resolve';
import { defaultExportPath, exportRun } from '../export/index';
import { forEachEvalPrediction } from '../export/eval-predictions';
import { runWorkerJob } from '../training/jobs';
import { runDir } from '../paths';
import { ownerAlive } from '../store/ownership';
import { RUN_CONCURRENCY } from './system';
import type { AppContext } from './context';
import { dataProgress } from './datasets';
import { modelStartOf } from './models';

/** The last lines of a run's train.log ("<ISO time> <message>" per line). */
export function readRunLog(file: string, max = 300): RunLogLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n').filter(Boolean);
  return lines.slice(-max).map((line) => {
    const space = line.indexOf(' ');
    const at = Date.parse(line.slice(0, space));
    return Number.isNaN(at) ? { at: 0, message: line } : { at, message: line.slice(space + 1) };
  });
}

/** The file to predict must be a readable file: a folder or a missing path is named, with what to do. */
function checkInputFile(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw appErrorFromErrno((err as NodeJS.ErrnoException).code, file, 'The file to predict') ?? err;
  }
  if (st.isDirectory()) throw new AppError('is_directory', `${file} is a folder, not a file. Choose a CSV, TSV or JSON lines file inside it.`, 'inputFile');
}

function notFound(id: string): AppError {
  return new AppError('not_found', `There is no run "${id}". It may have been deleted; refresh the Runs page.`);
}

export function runsApi(ctx: AppContext): Pick<
  AppApi,
  'listRuns' | 'getRun' | 'renameRun' | 'deleteRun' | 'startRun' | 'cancelRun' | 'resumeRun' | 'rerun' | 'evalPredictions' | 'predictTexts' | 'predictFile' | 'exportRun'
> {
  const { runs, training, events } = ctx;

  const requireRun = (id: string): RunSummary => {
    const run = runs.summary(id);
    if (!run) throw notFound(id);
    return run;
  };

  /** The folder of the run's best model, or an error saying why there is none yet. */
  const bestModelDir = (id: string): string => {
    const run = requireRun(id);
    const dir = path.join(runDir(ctx.dataDir, id), MODEL_DIR);
    if (!fs.existsSync(path.join(dir, 'config.json'))) {
      throw new AppError('conflict', `Run "${run.name}" has no trained model yet: it is saved after the first evaluation.`);
    }
    return dir;
  };

  /** The extra texts file is read by the trainer process: it must exist now (absolute path recorded). */
  const mlmStageFor = (mlm: MlmStage): MlmStage => {
    if (!mlm.extraTextsFile) return { ...mlm, extraTextsFile: null };
    const file = path.resolve(mlm.extraTextsFile);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new AppError('invalid_input', `mlm.extraTextsFile: ${file} is not a file`, 'mlm.extraTextsFile');
    return { ...mlm, extraTextsFile: file };
  };

  const configFor = async (request: StartRunRequest): Promise<RunConfig> => {
    const dataset = getPreparedDataset(ctx.dataDir, request.datasetId);
    const model = await resolveModel(request.model, {
      onProgress: (p) => events.emit('download-progress', { ...p, taskId: null }),
    });
    checkMaxLength(model.dir, request.options.maxLength);
    const modelName = request.model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? request.model;
    return {
      name: request.name ?? `${modelName} on ${dataset.name}`,
      model: { source: request.model, path: model.dir },
      labels: dataset.labels,
      dataset: {
        fingerprint: dataset.id,
        name: dataset.name,
        trainCount: dataset.trainCount,
        evalCount: dataset.evalCount,
        path: preparedDatasetDir(ctx.dataDir, dataset.id),
      },
      options: request.options,
      modelStart: request.modelStart ?? modelStartOf(model.dir),
      ...(request.mlm ? { mlm: mlmStageFor(request.mlm) } : {}),
    };
  };

  return {
    async listRuns() {
      // A process that trained a run may have died since: its runs become interrupted (resumable).
      const recovered = runs.recoverOrphans(ownerAlive);
      for (const runId of recovered) events.emit('runs-changed', { reason: 'status', runId });
      return runs.list();
    },
    async getRun(id) {
      const run = runs.get(id);
      if (!run) throw notFound(id);
      return { ...run, log: readRunLog(path.join(runDir(ctx.dataDir, id), TRAIN_LOG_FILE)) };
    },
    async renameRun(id, name) {
      requireRun(id);
      const run = runs.rename(id, name)!;
      events.emit('runs-changed', { reason: 'renamed', runId: id });
      return run;
    },
    async deleteRun(id) {
      requireRun(id);
      // Another live process's run is refused by name; a dead owner's run becomes interrupted.
      training.assertNotOwnedElsewhere(id, 'deleted');
      const run = requireRun(id);
      if (run.status === 'running' || run.status === 'queued' || training.isActive(id)) {
        throw new AppError('conflict', `Run "${run.name}" is ${run.status}. Cancel it first, then delete it.`);
      }
      try {
        removeDirSafely(runDir(ctx.dataDir, id));
      } catch (err) {
        const resource = appErrorFromErrno((err as NodeJS.ErrnoException).code, (err as NodeJS.ErrnoException).path, `Could not delete the files of run "${run.name}"`);
        if (resource) throw resource;
        throw new AppError('io', `Could not delete the files of run "${run.name}" (${(err as Error).message}). Close any program using them and try again; nothing was deleted.`);
      }
      runs.delete(id);
      events.emit('runs-changed', { reason: 'deleted', runId: id });
    },
    async startRun(request) {
      const others = runs.unfinished();
      const run = await training.start(await configFor(request), { backend: request.backend });
      if (others.length > 0) {
        events.emit('run-log', { runId: run.id, message: `${others.length === 1 ? 'Another run is' : `${others.length} other runs are`} training at the same time. ${RUN_CONCURRENCY.note}` });
      }
      return run;
    },
    async cancelRun(id) {
      requireRun(id);
      training.cancel(id);
    },
    async resumeRun(id) {
      return training.resume(id);
    },
    async rerun(id) {
      const run = requireRun(id);
      const parsed = runConfigSchema.safeParse(runs.config(id));
      if (!parsed.success) throw new AppError('unsupported', `Run "${run.name}" was recorded in a format this version cannot repeat.`);
      const c = parsed.data;
      return training.start(await configFor({ name: `${c.name} (again)`, model: c.model.source, datasetId: c.dataset.fingerprint, options: c.options, modelStart: c.modelStart, mlm: c.mlm ?? null }));
    },
    async evalPredictions(id, query) {
      requireRun(id);
      const file = path.join(runDir(ctx.dataDir, id), PREDICTIONS_FILE);
      if (!fs.existsSync(file)) return [];
      const labels = runConfigSchema.safeParse(runs.config(id));
      if (!labels.success) throw new AppError('unsupported', 'This run was recorded in a format this version cannot read.');
      const out: EvalPrediction[] = [];
      const limit = query.limit ?? 200;
      await forEachEvalPrediction(file, labels.data.labels.length, (p) => {
        if (out.length >= limit) return;
        if (query.trueLabel !== null && p.label !== query.trueLabel) return;
        if (query.predictedLabel !== null && p.predicted !== query.predictedLabel) return;
        out.push(p);
      });
      return out;
    },
    async predictTexts(id, texts) {
      return ctx.modelServer.predict(bestModelDir(id), texts);
    },
    predictFile: (id, inputFile, taskId, options) =>
      ctx.tasks.run(taskId, async (task) => {
        bestModelDir(id);
        checkInputFile(inputFile);
        const out = defaultExportPath(ctx.dataDir, id, 'predictions', inputFile);
        // The engine runs in a worker: a large file must not stall the app's process.
        const r = await runWorkerJob(ctx.workers, { kind: 'predict-file', dataDir: ctx.dataDir, runId: id, input: inputFile, out, csvInjectionSafe: options?.csvInjectionSafe }, (m) => (m.type === 'exported' ? m : undefined), {
          signal: task.signal,
          what: 'Batch prediction',
          onProgress: (done, total) => task.progress({ phase: 'Predicting', done, total, unit: 'rows', etaSeconds: null }),
          onMessage: (m) => {
            if (m.type === 'data-progress') task.progress({ phase: m.phase, done: m.done, total: m.total, unit: 'bytes', etaSeconds: m.etaSeconds });
          },
        });
        runs.addArtifact(id, 'predictions', r.path);
        return { format: 'predictions' as const, path: r.path, files: r.files };
      }),
    exportRun: (id, format, outDir, taskId, options) =>
      ctx.tasks.run(taskId, async (task) => {
        requireRun(id);
        if (training.isActive(id) && format !== 'predictions' && format !== 'baseline') {
          throw new AppError('conflict', 'The run is still training: export it when it has finished (or cancel it to export the best model so far).');
        }
        const r = await exportRun(ctx.dataDir, id, format, outDir, {
          runs,
          signal: task.signal,
          onProgress: dataProgress(task),
          csvInjectionSafe: options?.csvInjectionSafe,
        });
        return { format, path: r.path, files: r.files };
      }),
  };
}

