/**
 * The live view of one run: its record from the database (getRun) merged with the event stream,
 * so that opening, leaving and reopening a run, or reloading the window, shows the same curves.
 * Events that arrive while the record loads are kept and merged (no step twice, none lost).
 * Chart data changes are applied at most once per animation frame and announced by `version`.
 */
import type { RendererApi, RunEvalEvent, RunLogEvent, RunPhaseEvent, RunStatusEvent, RunStepEvent } from '../../../shared/api';
import type { AppError } from '../../../shared/errors';
import type { RunConfig } from '../../../shared/run-config';
import type { EvalMetrics, RunDetail, RunLogLine, RunStatus, StepMetric } from '../../../shared/types';
import { toAppError } from './app-error';
import { isActive, parseRunConfig, progressOf, type RunProgress } from './run-info';
import { EvalHistory, StepHistory } from './series';

export type FeedApi = Pick<RendererApi, 'getRun' | 'on'>;
export type Scheduler = (flush: () => void) => void;

/** Most recent log lines kept in memory. */
export const MAX_LOG_LINES = 300;

const defaultScheduler: Scheduler = (flush) => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => flush());
  else setTimeout(flush, 16);
};

export type LogLine = RunLogLine;

export class RunFeed {
  /** The run as recorded (steps and evals are moved into the histories). */
  detail = $state.raw<Omit<RunDetail, 'steps' | 'evals'> | null>(null);
  config = $state.raw<RunConfig | null>(null);
  status = $state<RunStatus | null>(null);
  error = $state<string | null>(null);
  phase = $state.raw<RunPhaseEvent | null>(null);
  lastStep = $state.raw<{ event: RunStepEvent; receivedAt: number } | null>(null);
  logs = $state.raw<LogLine[]>([]);
  evalList = $state.raw<readonly EvalMetrics[]>([]);
  loadError = $state.raw<AppError | null>(null);
  loaded = $state(false);
  /** Bumped when the step or evaluation history changed. */
  version = $state(0);
  /** Steps in the history (reactive, unlike the history itself). */
  stepCount = $state(0);

  readonly steps = new StepHistory();
  readonly evals = new EvalHistory();
  /** The masked-LM adaptation stage's steps (before fine-tuning), when the run has one. */
  readonly mlmSteps = new StepHistory();
  /** Masked-LM steps in their history (reactive). */
  mlmStepCount = $state(0);
  /** The latest masked-LM step event (its total steps and ETA). */
  lastMlmStep = $state.raw<RunStepEvent | null>(null);

  private pendingSteps: StepMetric[] = [];
  private pendingMlmSteps: StepMetric[] = [];
  private pendingEvals: EvalMetrics[] = [];
  private pendingLogs: LogLine[] = [];
  private pendingStep: { event: RunStepEvent; receivedAt: number } | null = null;
  private scheduled = false;
  private offs: (() => void)[] = [];
  private loadToken = 0;
  private backendAsked = false;
  private disposed = false;

  constructor(
    readonly runId: string,
    private readonly api: FeedApi,
    private readonly schedule: Scheduler = defaultScheduler,
    private readonly now: () => number = Date.now,
  ) {}

  /** Subscribes to the run's events, then loads its record. Returns dispose. */
  start(): () => void {
    const mine = (e: { runId: string }) => e.runId === this.runId && !this.disposed;
    this.offs.push(
      this.api.on('run-step', (e: RunStepEvent) => {
        if (!mine(e)) return;
        if (e.stage === 'mlm') {
          this.pendingMlmSteps.push({ stage: 'mlm', step: e.step, epoch: e.epoch, loss: e.loss, learningRate: e.learningRate, samplesPerSecond: e.samplesPerSecond });
          this.lastMlmStep = e;
          this.request();
          return;
        }
        this.pendingSteps.push({ step: e.step, epoch: e.epoch, loss: e.loss, learningRate: e.learningRate, samplesPerSecond: e.samplesPerSecond });
        this.pendingStep = { event: e, receivedAt: this.now() };
        // Steps mean training: a phase such as "tokenising" or "evaluating" is over.
        if (this.phase) this.phase = null;
        // The backend is recorded once the worker has chosen it: fetch it with the first steps.
        if (this.detail && !this.detail.backend && !this.backendAsked) {
          this.backendAsked = true;
          void this.reload(false);
        }
        this.request();
      }),
      this.api.on('run-eval', (e: RunEvalEvent) => {
        if (!mine(e)) return;
        this.pendingEvals.push(e.metrics);
        this.request();
      }),
      this.api.on('run-phase', (e: RunPhaseEvent) => {
        if (!mine(e)) return;
        this.phase = e;
      }),
      this.api.on('run-log', (e: RunLogEvent) => {
        if (!mine(e)) return;
        this.pendingLogs.push({ at: this.now(), message: e.message });
        this.request();
      }),
      this.api.on('run-status', (e: RunStatusEvent) => {
        if (!mine(e)) return;
        const resumed = e.status === 'running' && this.status !== null && !isActive(this.status);
        this.status = e.status;
        this.error = e.error;
        if (!isActive(e.status)) this.phase = null;
        // A resumed run replays the steps after its checkpoint: start again from the record.
        void this.reload(resumed);
      }),
    );
    void this.reload(false);
    return () => this.dispose();
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.offs) off();
    this.offs = [];
  }

  /** Loads the record; with reset, the histories are rebuilt from it. */
  async reload(reset: boolean): Promise<void> {
    const token = ++this.loadToken;
    let d: RunDetail;
    try {
      d = await this.api.getRun(this.runId);
    } catch (err) {
      if (token === this.loadToken && !this.disposed) this.loadError = toAppError(err);
      return;
    }
    if (token !== this.loadToken || this.disposed) return;
    if (reset) {
      this.steps.clear();
      this.evals.clear();
      this.lastStep = null;
      this.stepCount = 0;
      this.evalList = [];
      this.mlmSteps.clear();
      this.mlmStepCount = 0;
    }
    const { steps, evals, mlmSteps, log, ...rest } = d;
    this.detail = rest;
    // The recorded log shows what happened before this window opened (live lines append after).
    if (log && (reset || this.logs.length === 0)) this.logs = log.slice(-MAX_LOG_LINES);
    this.config = parseRunConfig(d.config);
    this.status = d.status;
    this.error = d.error;
    this.loadError = null;
    // The record goes in first; live events still pending are merged on top at the flush.
    this.pendingSteps = [...steps, ...this.pendingSteps];
    this.pendingEvals = [...evals, ...this.pendingEvals];
    this.pendingMlmSteps = [...(mlmSteps ?? []), ...this.pendingMlmSteps];
    this.loaded = true;
    this.flush();
  }

  private request(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  /** Applies everything pending at once. */
  flush(): void {
    this.scheduled = false;
    if (this.disposed) return;
    let changed = false;
    if (this.pendingSteps.length) {
      changed = this.steps.merge(this.pendingSteps) || changed;
      this.pendingSteps = [];
    }
    if (this.pendingMlmSteps.length) {
      if (this.mlmSteps.merge(this.pendingMlmSteps)) {
        this.mlmStepCount = this.mlmSteps.length;
        changed = true;
      }
      this.pendingMlmSteps = [];
    }
    if (this.pendingEvals.length) {
      if (this.evals.merge(this.pendingEvals)) {
        this.evalList = this.evals.all;
        changed = true;
      }
      this.pendingEvals = [];
    }
    if (this.pendingLogs.length) {
      const next = [...this.logs, ...this.pendingLogs];
      this.logs = next.length > MAX_LOG_LINES ? next.slice(next.length - MAX_LOG_LINES) : next;
      this.pendingLogs = [];
    }
    if (this.pendingStep) {
      this.lastStep = this.pendingStep;
      this.pendingStep = null;
    }
    if (changed) {
      this.stepCount = this.steps.length;
      this.version++;
    }
  }

  /** Progress at `now` (the clock keeps moving between steps). */
  progress(now = this.now()): RunProgress {
    const n = this.steps.length;
    return progressOf({
      summary: this.detail ? { status: this.status ?? this.detail.status, startedAt: this.detail.startedAt, finishedAt: this.detail.finishedAt } : null,
      config: this.config,
      live: this.lastStep,
      lastRecorded: n ? { step: this.steps.step[n - 1]!, epoch: this.steps.epoch[n - 1]!, samplesPerSecond: this.steps.samplesPerSecond[n - 1] ?? null } : null,
      now,
    });
  }
}
