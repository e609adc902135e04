/** The model catalog, Hub downloads, local folders and the training-time estimate. */
import type { AppApi, StartRunRequest, TrainingEstimate } from '../../shared/api';
import type { DownloadProgress } from '../../shared/models';
import { AppError } from '../../shared/errors';
import { classWeightsProblem } from '../../shared/run-config';
import { getPreparedDataset, loadPreparedDataset } from '../data';
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

export function modelsApi(ctx: AppContext): Pick<AppApi, 'listModels' | 'downloadModel' | 'inspectModelFolder' | 'estimateTraining'> {
  return {
    listModels: async () => listCatalogModels(),
    downloadModel: (repo, revision, taskId) =>
      ctx.tasks.run(taskId, async (task) => {
        const r = await downloadModel(repo, { revision, signal: task.signal, onProgress: downloadReporter(ctx, taskId, task) });
        return { repo: r.repo, dir: r.dir };
      }),
    inspectModelFolder: (dir) => inspectModelFolder(dir),
    estimateTraining: (request: StartRunRequest, taskId) =>
      ctx.tasks.run(taskId, async (task): Promise<TrainingEstimate> => {
        const meta = getPreparedDataset(ctx.dataDir, request.datasetId);
        const weights = classWeightsProblem(request.options.classWeights, meta.labels.length);
        if (weights) throw new AppError('invalid_input', `The training options are not valid: ${weights}.`, 'options.classWeights');
        const model = await resolveModel(request.model, { offline: true, signal: task.signal }).catch(() => {
          throw new AppError('not_found', `${request.model} is not on this machine yet: download it first, then the estimate can be measured.`);
        });
        checkMaxLength(model.dir, request.options.maxLength);
        const data = await loadPreparedDataset(ctx.dataDir, request.datasetId);
        // Rows spread over the file (the longest texts matter as much as the first ones).
        const stride = Math.max(1, Math.floor(data.train.length / 64));
        const rows = data.train.filter((_, i) => i % stride === 0).slice(0, 64);
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
