/**
 * The keyword baseline of a prepared dataset, as the engine worker computes it: trained on the
 * training rows, scored on the evaluation rows (the rows every run is scored on), then the model
 * (baseline.json) and its report (baseline-report.json) written whole beside meta.json.
 */
import path from 'node:path';
import type { BaselineSummary } from '../../../shared/dataset';
import { AppError } from '../../../shared/errors';
import { loadPreparedDataset, preparedDatasetDir } from '../../data';
import { BASELINE_MODEL_FILE, BASELINE_REPORT_FILE } from '../../data/baseline-files';
import { writeFileAtomic } from '../../fsutil';
import { evaluateBaseline, serialiseBaseline, trainBaseline, type BaselinePhase } from './index';

export interface DatasetBaselineOptions {
  signal?: AbortSignal;
  /** phase: 'vectorising' and 'fitting' while training, 'evaluating' while scoring. */
  onProgress?: (done: number, total: number, phase: BaselinePhase | 'evaluating' | 'loading') => void;
  now?: () => number;
}

export async function computeDatasetBaseline(dataDir: string, datasetId: string, options: DatasetBaselineOptions = {}): Promise<BaselineSummary> {
  const { signal, onProgress } = options;
  const dir = preparedDatasetDir(dataDir, datasetId);
  onProgress?.(0, 1, 'loading');
  const { meta, train, eval: evalRows } = await loadPreparedDataset(dataDir, datasetId);
  if (signal?.aborted) throw new AppError('cancelled', 'The keyword baseline was cancelled.');
  const model = await trainBaseline(
    { texts: train.map((r) => r.text), labels: Int32Array.from(train, (r) => r.label), labelNames: meta.labels },
    { signal, onProgress },
  );
  onProgress?.(0, evalRows.length, 'evaluating');
  const report = await evaluateBaseline(
    model,
    evalRows.map((r) => r.text),
    Int32Array.from(evalRows, (r) => r.label),
    { signal },
  );
  onProgress?.(evalRows.length, evalRows.length, 'evaluating');
  const summary: BaselineSummary = {
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    perClass: report.perClass,
    confusion: report.confusion,
    evalLoss: report.loss,
    trainRows: train.length,
    evalRows: evalRows.length,
    features: model.fit.features,
    iterations: model.fit.iterations,
    converged: model.fit.converged,
    trainSeconds: model.fit.seconds,
    createdAt: (options.now ?? Date.now)(),
  };
  if (signal?.aborted) throw new AppError('cancelled', 'The keyword baseline was cancelled.');
  // The model first: a report always has its model beside it.
  writeFileAtomic(path.join(dir, BASELINE_MODEL_FILE), JSON.stringify(serialiseBaseline(model)));
  writeFileAtomic(path.join(dir, BASELINE_REPORT_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
