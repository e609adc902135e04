/** What the UI reads out of a recorded run: its configuration, step count, best evaluation, progress. */
import { bestEvaluation } from '../../../shared/best-metric';
import type { JsonObject } from '../../../shared/json';
import { runConfigSchema, type BestMetric, type RunConfig } from '../../../shared/run-config';
import type { EvalMetrics, RunStatus, RunSummary, TrainStepEvent } from '../../../shared/types';

/** The run's RunConfig, or null when it was recorded in a shape this version does not know. */
export function parseRunConfig(config: JsonObject | null | undefined): RunConfig | null {
  if (!config) return null;
  const parsed = runConfigSchema.safeParse(config);
  return parsed.success ? parsed.data : null;
}

/** Optimizer steps of a run, as the engine counts them. */
export function totalStepsOf(config: RunConfig): number {
  const o = config.options;
  const micro = Math.ceil(config.dataset.trainCount / o.batchSize);
  const perEpoch = Math.max(1, Math.ceil(micro / o.gradientAccumulationSteps));
  return Math.max(1, Math.ceil(o.epochs * perEpoch));
}

export { metricOf } from '../../../shared/best-metric';

/** The evaluation that picked the best model: lowest loss or highest score, the first on ties. */
export function bestEvalOf(evals: readonly EvalMetrics[], name: BestMetric | string | null): EvalMetrics | null {
  return bestEvaluation(evals, name);
}

export const METRIC_LABELS: Record<BestMetric, string> = { accuracy: 'accuracy', macro_f1: 'macro-F1', eval_loss: 'evaluation loss' };

export function isActive(status: RunStatus | null | undefined): boolean {
  return status === 'running' || status === 'queued';
}

/** Interrupted, failed and cancelled runs continue from their last checkpoint. */
export function canResume(status: RunStatus | null | undefined): boolean {
  return status === 'interrupted' || status === 'failed' || status === 'cancelled';
}

export const STATUS_TEXT: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
};

export interface RunProgress {
  step: number;
  totalSteps: number | null;
  /** 0..1, or null while unknown. */
  fraction: number | null;
  epoch: number | null;
  elapsedSeconds: number | null;
  etaSeconds: number | null;
  samplesPerSecond: number | null;
}

/**
 * Progress at `now` from the latest live step (received at `receivedAt`) or, before one arrives,
 * from the recorded steps: the clock keeps moving between steps while the run is active.
 */
export function progressOf(input: {
  summary: Pick<RunSummary, 'status' | 'startedAt' | 'finishedAt'> | null;
  config: RunConfig | null;
  live: { event: TrainStepEvent; receivedAt: number } | null;
  lastRecorded: { step: number; epoch: number; samplesPerSecond: number | null } | null;
  now: number;
}): RunProgress {
  const { summary, config, live, lastRecorded, now } = input;
  const active = isActive(summary?.status);
  if (live) {
    const since = active ? Math.max(0, (now - live.receivedAt) / 1000) : 0;
    const e = live.event;
    return {
      step: e.step,
      totalSteps: e.totalSteps,
      fraction: e.totalSteps > 0 ? Math.min(1, e.step / e.totalSteps) : null,
      epoch: e.epoch,
      elapsedSeconds: e.elapsedSeconds + since,
      etaSeconds: e.etaSeconds === null ? null : Math.max(0, e.etaSeconds - since),
      samplesPerSecond: e.samplesPerSecond,
    };
  }
  const totalSteps = config ? totalStepsOf(config) : null;
  const step = lastRecorded?.step ?? 0;
  const started = summary?.startedAt ?? null;
  const elapsed = started === null ? null : ((summary?.finishedAt ?? (active ? now : null)) ?? now) - started;
  return {
    step,
    totalSteps,
    fraction: totalSteps ? Math.min(1, step / totalSteps) : null,
    epoch: lastRecorded?.epoch ?? null,
    elapsedSeconds: elapsed === null ? null : elapsed / 1000,
    etaSeconds: null,
    samplesPerSecond: lastRecorded?.samplesPerSecond ?? null,
  };
}

/** The short name of a model source: the Hub id, or the last folder of a path. */
export function modelName(source: string | null | undefined): string {
  if (!source) return '—';
  if (/^[A-Za-z]:\\|^\/|^\\\\|^\.{1,2}[\\/]/.test(source)) return source.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? source;
  return source;
}

/** The recorded backend name for people. */
export const BACKEND_TEXT: Record<string, string> = {
  'tensorflow-gpu': 'CUDA GPU (TensorFlow)',
  webgpu: 'GPU (WebGPU)',
  tensorflow: 'CPU (TensorFlow native)',
  native: 'CPU (native kernels)',
  wasm: 'WebAssembly',
  cpu: 'CPU (JavaScript)',
};

export function backendText(name: string | null | undefined): string {
  if (!name) return '—';
  return BACKEND_TEXT[name] ?? name;
}
