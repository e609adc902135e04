/**
 * The keyword baseline on AppApi: computed in the engine worker right after a dataset is prepared
 * (same task, phase 'keyword baseline'), or on demand for a dataset prepared before
 * (computeBaseline). Runs read its scores through baselineLookup (RunSummary.baselineAccuracy).
 */
import type { AppApi } from '../../shared/api';
import type { BaselineSummary, PreparedDataset } from '../../shared/dataset';
import { baselineNotComputedReason } from '../../shared/baseline';
import { AppError } from '../../shared/errors';
import { getPreparedDataset, preparedDatasetDir } from '../data';
import { readBaselineReport } from '../data/baseline-files';
import type { BaselineLookup } from '../store/runs';
import type { TaskHandle } from '../tasks';
import { runWorkerJob } from '../training/jobs';
import type { AppContext } from './context';

export const BASELINE_PHASE = 'keyword baseline';

/** Trains and scores the keyword baseline of a prepared dataset in a worker; writes its files beside meta.json. */
export async function computeDatasetBaseline(ctx: AppContext, datasetId: string, task: TaskHandle): Promise<BaselineSummary> {
  const dataset = getPreparedDataset(ctx.dataDir, datasetId); // names a missing dataset before a worker starts
  // Too many classes: refused here, before a worker starts (the engine refuses too).
  const tooMany = baselineNotComputedReason(dataset.labels.length);
  if (tooMany) throw new AppError('unsupported', `The keyword baseline of "${dataset.name}" was ${tooMany}.`);
  return runWorkerJob(ctx.workers, { kind: 'baseline', dataDir: ctx.dataDir, datasetId }, (m) => (m.type === 'baseline' ? m.summary : undefined), {
    signal: task.signal,
    what: 'The keyword baseline',
    onMessage: (m) => {
      if (m.type === 'data-progress') {
        task.progress({ phase: BASELINE_PHASE, done: m.done, total: m.total, unit: m.phase === 'fitting' ? 'steps' : 'rows', etaSeconds: null });
      }
    },
  });
}

/**
 * After prepareDataset: the dataset with its keyword baseline. The baseline never fails the
 * prepare: a failure (or a cancel during this phase) leaves baseline null and says why in the
 * dataset's warnings (not saved; computeBaseline can try again).
 */
export async function withBaseline(ctx: AppContext, task: TaskHandle, dataset: PreparedDataset): Promise<PreparedDataset> {
  if (dataset.baseline) return dataset;
  const tooMany = baselineNotComputedReason(dataset.labels.length);
  if (tooMany) return { ...dataset, warnings: [...dataset.warnings, `The keyword baseline was ${tooMany}.`] };
  try {
    return { ...dataset, baseline: await computeDatasetBaseline(ctx, dataset.id, task) };
  } catch (err) {
    const cancelled = err instanceof AppError && err.code === 'cancelled';
    const why = cancelled ? 'it was cancelled' : err instanceof Error ? err.message : String(err);
    return { ...dataset, warnings: [...dataset.warnings, `The keyword baseline was not computed (${why}); the dataset is ready. Prepare the dataset again, or run "finetune baseline", to compute it.`] };
  }
}

/** RunSummary's baseline scores by dataset fingerprint; a report once found is kept (a dataset never changes). */
export function baselineLookup(dataDir: string): BaselineLookup {
  const found = new Map<string, { accuracy: number; macroF1: number }>();
  return (fingerprint) => {
    const known = found.get(fingerprint);
    if (known) return known;
    let report: BaselineSummary | null;
    try {
      report = readBaselineReport(preparedDatasetDir(dataDir, fingerprint));
    } catch {
      return null; // not a dataset id
    }
    if (!report) return null;
    const scores = { accuracy: report.accuracy, macroF1: report.macroF1 };
    found.set(fingerprint, scores);
    return scores;
  };
}

export function baselineApi(ctx: AppContext): Pick<AppApi, 'computeBaseline'> {
  return {
    computeBaseline: (datasetId, taskId) => ctx.tasks.run(taskId, (task) => computeDatasetBaseline(ctx, datasetId, task)),
  };
}
