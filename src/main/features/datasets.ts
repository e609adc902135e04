/** Dataset import and the data doctor on AppApi (src/main/data does the work, in worker threads). */
import path from 'node:path';
import type { AppApi } from '../../shared/api';
import type { DataProgress } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import type { DatasetInspection, DatasetPreview, DoctorReport, PreparedDataset } from '../../shared/dataset';
import { getPreparedDataset, listPreparedDatasets, removePreparedDataset } from '../data';
import { prepareTempDir } from '../data/prepare';
import { resolveModel } from '../hub/resolve';
import { removeUpload } from '../training/housekeeping';
import { runWorkerJob } from '../training/jobs';
import type { TaskHandle } from '../tasks';
import { withBaseline } from './baseline';
import type { AppContext } from './context';

export function dataProgress(task: TaskHandle): (p: DataProgress) => void {
  return (p) => task.progress({ phase: p.phase, done: p.done, total: p.total, unit: p.unit, etaSeconds: p.etaSeconds });
}

export function datasetsApi(ctx: AppContext): Pick<AppApi, 'inspectDataset' | 'previewDataset' | 'prepareDataset' | 'listDatasets' | 'getDataset' | 'deleteDataset' | 'doctorDataset'> {
  return {
    // The reading itself runs in the data worker threads (data/worker-pool.ts): the host keeps answering meanwhile.
    inspectDataset: (file, overrides, taskId) =>
      ctx.tasks.run(taskId, (task) =>
        ctx.dataPool.run<DatasetInspection>({ kind: 'inspect', file, overrides }, { signal: task.signal, onProgress: dataProgress(task), what: `Inspecting ${path.basename(file)}` }),
      ),
    previewDataset: (file, limit, overrides) => ctx.dataPool.run<DatasetPreview>({ kind: 'preview', file, limit, overrides }, { what: `Previewing ${path.basename(file)}` }),
    prepareDataset: (request, taskId) =>
      ctx.tasks.run(taskId, async (task) => {
        const prepared = await ctx.dataPool.run<PreparedDataset>(
          { kind: 'prepare', request, dataDir: ctx.dataDir, tempDir: prepareTempDir(ctx.dataDir) },
          { signal: task.signal, onProgress: dataProgress(task), what: `Preparing ${request.displayName ?? path.basename(request.file)}` },
        );
        // A web upload's copy is no longer needed once prepared (removeUpload touches only <dataDir>/uploads).
        for (const f of [request.file, request.split.kind === 'file' ? request.split.evalFile : null]) if (f) removeUpload(ctx.dataDir, f);
        return withBaseline(ctx, task, prepared);
      }),
    listDatasets: async () => listPreparedDatasets(ctx.dataDir),
    getDataset: async (id) => getPreparedDataset(ctx.dataDir, id),
    async deleteDataset(id) {
      const dataset = getPreparedDataset(ctx.dataDir, id);
      // Runs that finished keep their own copy of what they need (model, predictions); a run that
      // is training or waiting to train still reads the prepared rows.
      const busy = ctx.runs.list().find((r) => r.datasetFingerprint === id && (r.status === 'running' || r.status === 'queued' || ctx.training.isActive(r.id)));
      if (busy) throw new AppError('conflict', `Run "${busy.name}" is training on "${dataset.name}". Cancel it or wait for it to finish, then delete the dataset.`);
      try {
        removePreparedDataset(ctx.dataDir, id);
      } catch (err) {
        throw new AppError('io', `Could not delete the dataset "${dataset.name}" (${(err as Error).message}). Close any program using its files and try again.`);
      }
    },
    doctorDataset: (source, options = {}, taskId) =>
      ctx.tasks.run(taskId, async (task) => {
        let countTokens: ((texts: string[]) => Promise<number[]>) | undefined;
        if (options.model) {
          // Only a model already on this machine: the doctor never starts a download.
          const model = await resolveModel(options.model, { offline: true, signal: task.signal }).catch(() => null);
          if (model) {
            countTokens = (texts) =>
              runWorkerJob(ctx.workers, { kind: 'count-tokens', modelDir: model.dir, texts }, (m) => (m.type === 'token-counts' ? m.counts : undefined), {
                signal: task.signal,
                what: 'Measuring token lengths',
                onProgress: (done, total) => task.progress({ phase: 'Measuring token lengths', done, total, unit: 'rows', etaSeconds: null }),
              });
          }
        }
        return ctx.dataPool.run<DoctorReport>(
          { kind: 'doctor', source, dataDir: ctx.dataDir, maxLength: options.maxLength, minClassSize: options.minClassSize, countTokens: countTokens !== undefined },
          { signal: task.signal, onProgress: dataProgress(task), countTokens, what: 'The data doctor' },
        );
      }),
  };
}
