/** Dataset import and the data doctor on AppApi (src/main/data does the work). */
import type { AppApi } from '../../shared/api';
import type { DataProgress } from '../../shared/dataset';
import { doctorDataset, getPreparedDataset, inspectDataset, listPreparedDatasets, prepareDataset, previewDataset } from '../data';
import { resolveModel } from '../hub/resolve';
import { runWorkerJob } from '../training/jobs';
import type { TaskHandle } from '../tasks';
import type { AppContext } from './context';

export function dataProgress(task: TaskHandle): (p: DataProgress) => void {
  return (p) => task.progress({ phase: p.phase, done: p.done, total: p.total, unit: p.unit, etaSeconds: p.etaSeconds });
}

export function datasetsApi(ctx: AppContext): Pick<AppApi, 'inspectDataset' | 'previewDataset' | 'prepareDataset' | 'listDatasets' | 'getDataset' | 'doctorDataset'> {
  return {
    inspectDataset: (file, overrides, taskId) =>
      ctx.tasks.run(taskId, (task) => inspectDataset(file, { overrides, signal: task.signal, onProgress: dataProgress(task) })),
    previewDataset: (file, limit, overrides) => previewDataset(file, { limit, overrides }),
    prepareDataset: (request, taskId) =>
      ctx.tasks.run(taskId, (task) => prepareDataset(request, ctx.dataDir, { signal: task.signal, onProgress: dataProgress(task) })),
    listDatasets: async () => listPreparedDatasets(ctx.dataDir),
    getDataset: async (id) => getPreparedDataset(ctx.dataDir, id),
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
        return doctorDataset(source, {
          dataDir: ctx.dataDir,
          maxLength: options.maxLength,
          minClassSize: options.minClassSize,
          countTokens,
          signal: task.signal,
          onProgress: dataProgress(task),
        });
      }),
  };
}
