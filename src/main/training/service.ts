/**
 * Runs training in the engine worker and records it: the run row and its status, every step
 * and evaluation in SQLite, the artifacts, and the events the UI and CLI follow. Only this
 * (parent) side writes to the database. A worker that dies without saying why marks the run
 * failed with what is known (exit code, signal, likely out of memory).
 */
import { formatPercent } from '../../shared/format';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError, runResourceAdvice } from '../../shared/errors';
import type { JsonObject } from '../../shared/json';
import { runConfigSchema, type RunConfig } from '../../shared/run-config';
import { getPreparedDataset } from '../data';
import { BACKEND_NAMES, type BackendName, type RunOwner, type RunStatus, type RunSummary } from '../../shared/types';
import { bestEvaluation, metricOf } from '../../shared/best-metric';
import { latestCheckpoint } from '../engine/checkpoint';
import type { EngineJob, WorkerMessage } from '../engine/protocol';
import { MODEL_DIR, PREDICTIONS_FILE, RUN_CONFIG_FILE, TRAIN_LOG_FILE } from '../engine/layout';
import type { AppEventBus } from '../events';
import { writeFileAtomic } from '../fsutil';
import { runDir } from '../paths';
import { METRICS_FILE, type MetricsLine } from '../store/recovery';
import { currentOwner, describeOwner, ownerAlive } from '../store/ownership';
import type { RunRepository } from '../store/runs';
import { sweepRunFolder } from './housekeeping';
import type { WorkerHandle, WorkerLauncher } from './launcher';

export interface TrainingServiceOptions {
  dataDir: string;
  runs: RunRepository;
  events: AppEventBus;
  launcher: WorkerLauncher;
  workerEntry: string;
  /** Extra environment for workers (FINETUNE_BACKEND...). */
  env?: NodeJS.ProcessEnv;
  /** The kind of host this process is: recorded as the owner of the runs it trains. */
  host: RunOwner['host'];
}

interface ActiveRun {
  worker: WorkerHandle;
  cancelRequested: boolean;
  terminal: boolean;
  done: Promise<RunSummary>;
  /** Records the run's final status once and resolves `done`. */
  end(status: RunStatus, error: string | null): void;
}

export function newRunId(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

const CANCEL_GRACE_MS = 30_000;

/** The backend a run recorded (its worker's 'backend' message), when it is one this version knows. */
function recordedBackend(name: string | null): BackendName | undefined {
  return (BACKEND_NAMES as readonly string[]).includes(name ?? '') ? (name as BackendName) : undefined;
}

export class TrainingService {
  private readonly active = new Map<string, ActiveRun>();
  private closed = false;

  constructor(private readonly o: TrainingServiceOptions) {}

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /**
   * Throws owned_elsewhere when another live process (or app instance) trains the run; a run
   * whose owner is gone is marked interrupted first, so it can be resumed or deleted.
   */
  assertNotOwnedElsewhere(id: string, action: string): void {
    if (this.active.has(id)) return;
    const owner = this.o.runs.owner(id);
    if (!owner) return;
    const run = this.o.runs.summary(id)!;
    if (ownerAlive(owner)) {
      throw new AppError(
        'owned_elsewhere',
        `Run ${id} ("${run.name}") is being trained by ${describeOwner(owner)}, so it cannot be ${action} from here. ` +
          'Stop it in that window or terminal, or wait for it to finish.',
      );
    }
    if (run.status === 'running' || run.status === 'queued') this.o.runs.recoverOrphans((o) => ownerAlive(o));
    else this.o.runs.release(id);
  }

  activeIds(): string[] {
    return [...this.active.keys()];
  }

  /** Creates the run and starts its worker. */
  async start(input: RunConfig, opts: { id?: string; backend?: BackendName } = {}): Promise<RunSummary> {
    const parsed = runConfigSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AppError('invalid_input', `The run settings are not valid: ${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'));
    }
    const config = parsed.data;
    const id = opts.id ?? newRunId();
    const dir = runDir(this.o.dataDir, id);
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, RUN_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    this.o.runs.create({
      id,
      name: config.name,
      config: config as unknown as JsonObject,
      modelId: config.model.source,
      datasetFingerprint: config.dataset.fingerprint,
      datasetName: config.dataset.name,
    });
    // Owned from its first instant: another process must not take a queued run for an orphan.
    this.o.runs.claim(id, currentOwner(this.o.host, this.o.runs.instance));
    this.o.events.emit('runs-changed', { reason: 'created', runId: id });
    await this.launch(id, config, false, opts.backend);
    return this.o.runs.summary(id)!;
  }

  /** Continues an interrupted, failed or cancelled run from its newest complete checkpoint. */
  async resume(id: string): Promise<RunSummary> {
    const run = this.o.runs.summary(id);
    if (!run) throw new AppError('not_found', `There is no run "${id}".`);
    if (this.active.has(id)) throw new AppError('conflict', `Run "${run.name}" is already running.`);
    this.assertNotOwnedElsewhere(id, 'resumed');
    if (run.status === 'completed') throw new AppError('conflict', `Run "${run.name}" has completed; use "Run again" to train a new run with its settings.`);
    const raw = this.o.runs.config(id);
    const parsed = runConfigSchema.safeParse(raw);
    if (!parsed.success) throw new AppError('unsupported', `Run "${run.name}" was recorded in a format this version cannot resume.`);
    // One statement decides between two processes resuming the same run at once.
    const me = currentOwner(this.o.host, this.o.runs.instance);
    if (!this.o.runs.tryClaim(id, me)) {
      this.assertNotOwnedElsewhere(id, 'resumed');
      if (!this.o.runs.tryClaim(id, me)) {
        throw new AppError('owned_elsewhere', `Run ${id} ("${run.name}") was just taken by another process; refresh the Runs page.`);
      }
    }
    try {
      const dir = runDir(this.o.dataDir, id);
      // What a killed trainer left: its temp folders, a model swap cut between two renames.
      sweepRunFolder(dir);
      const ckpt = latestCheckpoint(dir);
      let step = 0;
      if (ckpt) step = (JSON.parse(fs.readFileSync(path.join(ckpt, 'trainer_state.json'), 'utf8')) as { globalStep: number }).globalStep;
      // Steps and evaluations after the checkpoint are replayed by the resumed worker.
      this.o.runs.truncateAfter(id, step);
      this.recomputeBest(id, parsed.data);
      // The backend it ran on, not a new choice: a checkpoint continued on another backend (cpu,
      // then native) would not give the losses of an uninterrupted run.
      await this.launch(id, parsed.data, true, recordedBackend(run.backend));
    } catch (err) {
      if (!this.active.has(id)) this.o.runs.release(id);
      throw err;
    }
    return this.o.runs.summary(id)!;
  }

  cancel(id: string): void {
    const a = this.active.get(id);
    if (!a) {
      const run = this.o.runs.summary(id);
      if (!run) throw new AppError('not_found', `There is no run "${id}".`);
      this.assertNotOwnedElsewhere(id, 'cancelled');
      const now = this.o.runs.summary(id)!;
      if (now.status === 'queued' || now.status === 'running') this.finish(id, 'cancelled', null);
      return;
    }
    a.cancelRequested = true;
    a.worker.send({ type: 'cancel' });
    setTimeout(() => {
      if (!a.terminal) {
        a.worker.kill();
        a.end('cancelled', null);
      }
    }, CANCEL_GRACE_MS).unref();
  }

  /** Resolves when the run ends (completed, failed, cancelled, interrupted). */
  wait(id: string): Promise<RunSummary> {
    const a = this.active.get(id);
    if (a) return a.done;
    const run = this.o.runs.summary(id);
    if (!run) return Promise.reject(new AppError('not_found', `There is no run "${id}".`));
    return Promise.resolve(run);
  }

  /** App shutdown: running runs become interrupted (resumable) and their workers stop. */
  shutdown(): void {
    this.closed = true;
    for (const [id, a] of this.active) {
      a.terminal = true;
      a.worker.kill();
      this.o.runs.setStatus(id, 'interrupted', { error: 'The app was closed during training. Resume the run to continue from its last checkpoint.' });
    }
    this.active.clear();
  }

  private recomputeBest(id: string, config: RunConfig): void {
    const name = config.options.bestMetric;
    const best = bestEvaluation(this.o.runs.evals(id), name);
    this.o.runs.setBest(id, best ? { metricName: name, value: metricOf(best, name), accuracy: best.accuracy } : null);
  }

  private async launch(id: string, config: RunConfig, resume: boolean, backend?: BackendName): Promise<void> {
    // The worker reads the rows itself (and checks their hashes); here only that the dataset is there.
    try {
      getPreparedDataset(this.o.dataDir, config.dataset.fingerprint);
    } catch (err) {
      this.o.runs.setStatus(id, 'failed', { error: `Could not read the run's dataset: ${(err as Error).message}` });
      this.o.events.emit('run-status', { runId: id, status: 'failed', error: (err as Error).message });
      throw err;
    }
    const dir = runDir(this.o.dataDir, id);
    const logFile = path.join(dir, TRAIN_LOG_FILE);
    // Best effort: a full disk must not keep the run from being recorded as failed.
    const appendQuietly = (file: string, text: string): void => {
      try {
        fs.appendFileSync(file, text);
      } catch {
        // The database still records the run.
      }
    };
    const log = (line: string) => appendQuietly(logFile, `${new Date().toISOString()} ${line}\n`);
    // The database's record of steps and evaluations, also kept beside the run: a damaged
    // database is rebuilt from it (store/recovery.ts).
    const metricsFile = path.join(dir, METRICS_FILE);
    const metric = (line: MetricsLine) => appendQuietly(metricsFile, JSON.stringify(line) + '\n');
    this.o.runs.addArtifact(id, 'log', logFile);
    const worker = this.o.launcher(this.o.workerEntry, { ...process.env, ...this.o.env });
    let resolveDone!: (r: RunSummary) => void;
    const active: ActiveRun = {
      worker,
      cancelRequested: false,
      terminal: false,
      done: new Promise((r) => (resolveDone = r)),
      end: (status, error) => {
        if (active.terminal) return;
        active.terminal = true;
        this.active.delete(id);
        log(`${status}${error ? `: ${error}` : ''}`);
        resolveDone(this.finish(id, status, error));
      },
    };
    this.active.set(id, active);
    // Claimed before it reads 'running', so no other process sees it running without an owner.
    this.o.runs.claim(id, currentOwner(this.o.host, this.o.runs.instance));
    this.o.runs.setStatus(id, 'running', { error: null });
    this.o.events.emit('run-status', { runId: id, status: 'running', error: null });
    log(resume ? 'resuming' : 'starting');

    const job: EngineJob = { kind: 'train', runId: id, runDir: dir, config, dataset: { dataDir: this.o.dataDir, id: config.dataset.fingerprint }, resume, ...(backend ? { backend } : {}) };
    const end = active.end;

    worker.onMessage((m) => {
      // After shutdown the database is closed; a late message has nowhere to go.
      if (this.closed || active.terminal) return;
      try {
        this.handle(id, m, worker, job, log, metric, end);
      } catch (err) {
        console.error(`run ${id}: could not record a worker message:`, err);
      }
    });
    worker.onExit((code, signal) => {
      if (this.closed || active.terminal) return;
      if (active.cancelRequested) return end('cancelled', null);
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const hint = signal === 'SIGKILL' || code === 137
        ? ' It was stopped by the system or a person (running out of memory is a common cause: if so, try a smaller batch size or max length, or a smaller model).'
        : code === 134
          ? ' It aborted (running out of memory is a common cause: try a smaller batch size or max length, or a smaller model).'
          : '';
      end('failed', `The training process ${how} before finishing.${hint} Resume the run to continue from its last checkpoint.`);
    });
  }

  private handle(
    id: string,
    m: WorkerMessage,
    worker: WorkerHandle,
    job: EngineJob,
    log: (line: string) => void,
    metric: (line: MetricsLine) => void,
    end: (status: RunStatus, error: string | null) => void,
  ): void {
    const { runs, events } = this.o;
    switch (m.type) {
      case 'ready':
        if (this.active.get(id)?.cancelRequested) worker.send({ type: 'cancel' });
        else worker.send({ type: 'start', job });
        break;
      case 'backend':
        runs.setStatus(id, 'running', { backend: m.backend.name });
        log(`backend: ${m.backend.label} (${m.backend.detail})`);
        events.emit('run-log', { runId: id, message: `Training on ${m.backend.label}.` });
        break;
      case 'phase':
        events.emit('run-phase', { runId: id, ...m.event });
        break;
      case 'step': {
        const step = { step: m.event.step, epoch: m.event.epoch, loss: m.event.loss, learningRate: m.event.learningRate, samplesPerSecond: m.event.samplesPerSecond, ...(m.event.stage === 'mlm' ? { stage: 'mlm' as const } : {}) };
        runs.addSteps(id, [step]);
        metric({ type: 'step', metric: step });
        events.emit('run-step', { runId: id, ...m.event });
        break;
      }
      case 'eval':
        runs.addEval(id, m.event.metrics, m.event.isBest ? { metricName: m.event.bestMetricName, value: m.event.bestMetric } : undefined);
        metric({ type: 'eval', metrics: m.event.metrics });
        if (m.event.isBest) {
          // The same paths each time (rewritten in place): recorded once, beside any exports.
          runs.addArtifact(id, 'model', path.join(runDir(this.o.dataDir, id), MODEL_DIR));
          runs.addArtifact(id, 'predictions', path.join(runDir(this.o.dataDir, id), PREDICTIONS_FILE));
        }
        log(`eval at step ${m.event.metrics.step}: accuracy ${m.event.metrics.accuracy.toFixed(4)}, macro-F1 ${m.event.metrics.macroF1.toFixed(4)}, loss ${m.event.metrics.evalLoss.toFixed(4)}`);
        // The Messages log shows every evaluation, in the same words as the Results step.
        events.emit('run-log', {
          runId: id,
          message: `Evaluation at epoch ${m.event.metrics.epoch.toFixed(m.event.metrics.epoch % 1 ? 2 : 0)}: accuracy ${formatPercent(m.event.metrics.accuracy)}, macro-F1 ${formatPercent(m.event.metrics.macroF1)}${m.event.isBest ? ' (best so far: saved)' : ''}.`,
        });
        events.emit('run-eval', { runId: id, metrics: m.event.metrics, isBest: m.event.isBest });
        break;
      case 'checkpoint':
        runs.replaceArtifacts(id, 'checkpoint', [m.path]);
        break;
      case 'log':
        log(m.message);
        events.emit('run-log', { runId: id, message: m.message });
        break;
      case 'done':
        if (m.result.stoppedEarly) events.emit('run-log', { runId: id, message: 'Stopped early: the metric stopped improving.' });
        events.emit('run-log', { runId: id, message: 'Completed.' });
        end('completed', null);
        break;
      case 'cancelled':
        end('cancelled', null);
        break;
      case 'failed': {
        // A full disk or a permission problem is the user's to fix; the run keeps its checkpoints.
        const advice = runResourceAdvice(m.errno);
        end('failed', advice ? `${m.error} ${advice}` : m.error);
        break;
      }
      case 'progress':
      case 'predictions':
        break;
    }
  }

  private finish(id: string, status: RunStatus, error: string | null): RunSummary {
    const summary = this.o.runs.setStatus(id, status, { error })!;
    this.o.events.emit('run-status', { runId: id, status, error });
    this.o.events.emit('runs-changed', { reason: 'status', runId: id });
    return summary;
  }
}
