/** The typed repository over the runs, metrics and artifacts tables. Only the parent process writes. */
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../shared/json';
import { newInstanceId, type OwnerRecord } from './ownership';
import type {
  Artifact,
  ArtifactKind,
  ClassMetrics,
  EvalMetrics,
  RunDetail,
  RunOwner,
  RunStatus,
  RunSummary,
  StepMetric,
} from '../../shared/types';

interface RunRow {
  id: string;
  name: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  status: RunStatus;
  config: string;
  model_id: string | null;
  dataset_fingerprint: string | null;
  dataset_name: string | null;
  backend: string | null;
  best_metric: number | null;
  best_metric_name: string | null;
  best_accuracy: number | null;
  error: string | null;
  owner_pid: number | null;
  owner_process_start: string | null;
  owner_host: RunOwner['host'] | null;
  owner_instance: string | null;
  owner_since: number | null;
}

interface EvalRow {
  step: number;
  epoch: number;
  eval_loss: number;
  accuracy: number;
  macro_f1: number;
  per_class: string;
  confusion: string;
}

export interface NewRun {
  id: string;
  name: string;
  config: JsonObject;
  modelId?: string | null;
  datasetFingerprint?: string | null;
  datasetName?: string | null;
  status?: RunStatus;
  createdAt?: number;
}

export interface StatusUpdate {
  error?: string | null;
  backend?: string | null;
  at?: number;
}

/** The runs some process has claimed (index runs_owned: only those rows are read). */
export const OWNED_RUNS_SQL = 'SELECT id FROM runs WHERE owner_pid IS NOT NULL';
/** The runs left running or queued (index runs_unfinished: only those rows are read). */
export const UNFINISHED_RUNS_SQL = "SELECT * FROM runs WHERE status IN ('running', 'queued') ORDER BY created_at DESC, id DESC";

const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled', 'interrupted']);

function ownerOfRow(row: RunRow): OwnerRecord | null {
  if (row.owner_pid === null || row.owner_host === null || row.owner_instance === null) return null;
  return {
    pid: row.owner_pid,
    host: row.owner_host,
    startedAt: row.owner_since ?? row.started_at ?? row.created_at,
    processStart: row.owner_process_start,
    instance: row.owner_instance,
  };
}

/** The keyword baseline's scores of a dataset (by fingerprint), or null; the store reads no dataset files itself. */
export type BaselineLookup = (datasetFingerprint: string) => { accuracy: number; macroF1: number } | null;

function toSummary(row: RunRow, instance: string, baselineOf?: BaselineLookup): RunSummary {
  const owner = ownerOfRow(row);
  const baseline = row.dataset_fingerprint && baselineOf ? baselineOf(row.dataset_fingerprint) : null;
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status,
    modelId: row.model_id,
    datasetFingerprint: row.dataset_fingerprint,
    datasetName: row.dataset_name,
    backend: row.backend,
    bestMetric: row.best_metric,
    bestMetricName: row.best_metric_name,
    bestAccuracy: row.best_accuracy,
    baselineAccuracy: baseline?.accuracy ?? null,
    baselineMacroF1: baseline?.macroF1 ?? null,
    error: row.error,
    owner: owner ? { pid: owner.pid, host: owner.host, startedAt: owner.startedAt } : null,
    ownedHere: owner !== null && owner.pid === process.pid && owner.instance === instance,
  };
}

export class RunRepository {
  private readonly stmts;
  /** This app instance (see store/ownership.ts): RunSummary.ownedHere compares owners with it. */
  readonly instance: string;
  private readonly baselineOf?: BaselineLookup;

  constructor(
    private readonly db: Database.Database,
    options: { instance?: string; baselineOf?: BaselineLookup } = {},
  ) {
    this.instance = options.instance ?? newInstanceId();
    this.baselineOf = options.baselineOf;
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO runs (id, name, created_at, status, config, model_id, dataset_fingerprint, dataset_name)
         VALUES (@id, @name, @created_at, @status, @config, @model_id, @dataset_fingerprint, @dataset_name)`,
      ),
      get: db.prepare('SELECT * FROM runs WHERE id = ?'),
      list: db.prepare('SELECT * FROM runs ORDER BY created_at DESC, id DESC'),
      rename: db.prepare('UPDATE runs SET name = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM runs WHERE id = ?'),
      steps: db.prepare(
        "SELECT step, epoch, loss, learning_rate, samples_per_second FROM step_metrics WHERE run_id = ? AND stage = 'finetune' ORDER BY step",
      ),
      mlmSteps: db.prepare(
        "SELECT step, epoch, loss, learning_rate, samples_per_second FROM step_metrics WHERE run_id = ? AND stage = 'mlm' ORDER BY step",
      ),
      stepsAfter: db.prepare(
        "SELECT step, epoch, loss, learning_rate, samples_per_second FROM step_metrics WHERE run_id = ? AND stage = 'finetune' AND step > ? ORDER BY step",
      ),
      evals: db.prepare(
        'SELECT step, epoch, eval_loss, accuracy, macro_f1, per_class, confusion FROM epoch_metrics WHERE run_id = ? ORDER BY step',
      ),
      artifacts: db.prepare('SELECT kind, path, created_at FROM artifacts WHERE run_id = ? ORDER BY id'),
      addStep: db.prepare(
        `INSERT OR REPLACE INTO step_metrics (run_id, stage, step, epoch, loss, learning_rate, samples_per_second)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      addEval: db.prepare(
        `INSERT OR REPLACE INTO epoch_metrics (run_id, step, epoch, eval_loss, accuracy, macro_f1, per_class, confusion)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      addArtifact: db.prepare(
        'INSERT OR IGNORE INTO artifacts (run_id, kind, path, created_at) VALUES (?, ?, ?, ?)',
      ),
      artifactByPath: db.prepare('SELECT 1 FROM artifacts WHERE path = ? LIMIT 1'),
      removeArtifacts: db.prepare('DELETE FROM artifacts WHERE run_id = ? AND kind = ?'),
      unfinished: db.prepare(UNFINISHED_RUNS_SQL),
      owned: db.prepare(OWNED_RUNS_SQL).pluck(),
      recoverOne: db.prepare(
        `UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, @at),
           error = COALESCE(error, 'The app stopped while this run was in progress.'),
           owner_pid = NULL, owner_process_start = NULL, owner_host = NULL, owner_instance = NULL, owner_since = NULL
         WHERE id = @id AND status IN ('running', 'queued')
           AND owner_pid IS @pid AND owner_instance IS @instance`,
      ),
      tryClaim: db.prepare(
        `UPDATE runs SET owner_pid = @pid, owner_process_start = @processStart, owner_host = @host,
           owner_instance = @instance, owner_since = @startedAt
         WHERE id = @id AND (owner_pid IS NULL OR (owner_pid = @pid AND owner_instance = @instance))`,
      ),
      release: db.prepare(
        `UPDATE runs SET owner_pid = NULL, owner_process_start = NULL, owner_host = NULL, owner_instance = NULL, owner_since = NULL WHERE id = ?`,
      ),
      claim: db.prepare(
        `UPDATE runs SET owner_pid = @pid, owner_process_start = @processStart, owner_host = @host,
           owner_instance = @instance, owner_since = @startedAt WHERE id = @id`,
      ),
      truncateSteps: db.prepare("DELETE FROM step_metrics WHERE run_id = ? AND stage = 'finetune' AND step > ?"),
      truncateEvals: db.prepare('DELETE FROM epoch_metrics WHERE run_id = ? AND step > ?'),
    };
  }

  create(run: NewRun): RunSummary {
    this.stmts.insert.run({
      id: run.id,
      name: run.name,
      created_at: run.createdAt ?? Date.now(),
      status: run.status ?? 'queued',
      config: JSON.stringify(run.config),
      model_id: run.modelId ?? null,
      dataset_fingerprint: run.datasetFingerprint ?? null,
      dataset_name: run.datasetName ?? null,
    });
    return this.summary(run.id)!;
  }

  summary(id: string): RunSummary | null {
    const row = this.stmts.get.get(id) as RunRow | undefined;
    return row ? toSummary(row, this.instance, this.baselineOf) : null;
  }

  /** The process recorded as training the run (null when none is, or the run does not exist). */
  owner(id: string): OwnerRecord | null {
    const row = this.stmts.get.get(id) as RunRow | undefined;
    return row ? ownerOfRow(row) : null;
  }

  /** Claims the run for `owner` only if no other owner holds it (one statement: two processes cannot both win). */
  tryClaim(id: string, owner: OwnerRecord): boolean {
    return this.stmts.tryClaim.run({ id, ...owner }).changes > 0;
  }

  /** Clears the run's owner (a claim that did not lead to training, or an owner that is gone). */
  release(id: string): void {
    this.stmts.release.run(id);
  }

  /** Records `owner` as the process training the run (cleared when the run reaches a terminal status). */
  claim(id: string, owner: OwnerRecord): void {
    this.stmts.claim.run({ id, ...owner });
  }

  get(id: string): RunDetail | null {
    const row = this.stmts.get.get(id) as RunRow | undefined;
    if (!row) return null;
    return {
      ...toSummary(row, this.instance, this.baselineOf),
      config: JSON.parse(row.config) as JsonObject,
      steps: this.steps(id),
      mlmSteps: this.mlmSteps(id),
      evals: this.evals(id),
      artifacts: this.artifacts(id),
    };
  }

  config(id: string): JsonObject | null {
    const row = this.stmts.get.get(id) as RunRow | undefined;
    return row ? (JSON.parse(row.config) as JsonObject) : null;
  }

  /** Ids of the runs some process (this one or another) has claimed, without reading the others. */
  ownedRunIds(): string[] {
    return this.stmts.owned.all() as string[];
  }

  /** Summaries of the runs left running or queued, without reading the others. */
  unfinished(): RunSummary[] {
    return (this.stmts.unfinished.all() as RunRow[]).map((r) => toSummary(r, this.instance, this.baselineOf));
  }

  list(): RunSummary[] {
    return (this.stmts.list.all() as RunRow[]).map((r) => toSummary(r, this.instance, this.baselineOf));
  }

  rename(id: string, name: string): RunSummary | null {
    const info = this.stmts.rename.run(name, id);
    return info.changes ? this.summary(id) : null;
  }

  delete(id: string): boolean {
    return this.stmts.remove.run(id).changes > 0;
  }

  /** Moves a run to a status; 'running' stamps started_at, terminal statuses stamp finished_at. */
  setStatus(id: string, status: RunStatus, update: StatusUpdate = {}): RunSummary | null {
    const at = update.at ?? Date.now();
    const sets = ['status = @status'];
    const params: Record<string, unknown> = { id, status, at };
    if (status === 'running') sets.push('started_at = COALESCE(started_at, @at)', 'finished_at = NULL', 'error = NULL');
    if (TERMINAL.has(status)) {
      sets.push('finished_at = @at');
      sets.push('owner_pid = NULL', 'owner_process_start = NULL', 'owner_host = NULL', 'owner_instance = NULL', 'owner_since = NULL');
    }
    if (update.error !== undefined) {
      sets.push('error = @error');
      params.error = update.error;
    }
    if (update.backend !== undefined) {
      sets.push('backend = @backend');
      params.backend = update.backend;
    }
    const info = this.db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = @id`).run(params);
    return info.changes ? this.summary(id) : null;
  }

  /**
   * Runs left running or queued by a process that is gone become interrupted; runs whose owner
   * `isAlive` says is still running are left alone. Returns the ids recovered. Each update checks
   * the owner it read, so a run another process claims meanwhile is not touched.
   */
  recoverOrphans(isAlive: (owner: OwnerRecord) => boolean, at = Date.now()): string[] {
    const recovered: string[] = [];
    for (const row of this.stmts.unfinished.all() as RunRow[]) {
      const owner = ownerOfRow(row);
      if (owner && isAlive(owner)) continue;
      const info = this.stmts.recoverOne.run({ id: row.id, at, pid: row.owner_pid, instance: row.owner_instance });
      if (info.changes) recovered.push(row.id);
    }
    return recovered;
  }

  /** Runs left running or queued by a crash become interrupted, whoever owned them. Returns how many. */
  recoverInterrupted(at = Date.now()): number {
    return this.recoverOrphans(() => false, at).length;
  }

  addSteps(id: string, steps: readonly StepMetric[]): void {
    const insert = this.db.transaction((rows: readonly StepMetric[]) => {
      for (const s of rows) {
        this.stmts.addStep.run(id, s.stage ?? 'finetune', s.step, s.epoch, s.loss, s.learningRate, s.samplesPerSecond);
      }
    });
    insert(steps);
  }

  steps(id: string, afterStep?: number): StepMetric[] {
    const rows = (
      afterStep === undefined ? this.stmts.steps.all(id) : this.stmts.stepsAfter.all(id, afterStep)
    ) as { step: number; epoch: number; loss: number; learning_rate: number; samples_per_second: number | null }[];
    return rows.map((r) => ({
      step: r.step,
      epoch: r.epoch,
      loss: r.loss,
      learningRate: r.learning_rate,
      samplesPerSecond: r.samples_per_second,
    }));
  }

  /** The masked-LM adaptation stage's steps (loss over the masked tokens), oldest first. */
  mlmSteps(id: string): StepMetric[] {
    const rows = this.stmts.mlmSteps.all(id) as { step: number; epoch: number; loss: number; learning_rate: number; samples_per_second: number | null }[];
    return rows.map((r) => ({ stage: 'mlm', step: r.step, epoch: r.epoch, loss: r.loss, learningRate: r.learning_rate, samplesPerSecond: r.samples_per_second }));
  }

  /** Records an evaluation; the caller says which metric ranks runs and whether this one is the best. */
  addEval(id: string, m: EvalMetrics, best?: { metricName: string; value: number }): void {
    this.db.transaction(() => {
      this.stmts.addEval.run(
        id,
        m.step,
        m.epoch,
        m.evalLoss,
        m.accuracy,
        m.macroF1,
        JSON.stringify(m.perClass),
        JSON.stringify(m.confusion),
      );
      if (best) {
        this.db
          .prepare('UPDATE runs SET best_metric = ?, best_metric_name = ?, best_accuracy = ? WHERE id = ?')
          .run(best.value, best.metricName, m.accuracy, id);
      }
    })();
  }

  /** Sets (or clears) the best evaluation summary of a run. */
  setBest(id: string, best: { metricName: string; value: number; accuracy: number } | null): void {
    this.db
      .prepare('UPDATE runs SET best_metric = ?, best_metric_name = ?, best_accuracy = ? WHERE id = ?')
      .run(best?.value ?? null, best?.metricName ?? null, best?.accuracy ?? null, id);
  }

  evals(id: string): EvalMetrics[] {
    return (this.stmts.evals.all(id) as EvalRow[]).map((r) => ({
      step: r.step,
      epoch: r.epoch,
      evalLoss: r.eval_loss,
      accuracy: r.accuracy,
      macroF1: r.macro_f1,
      perClass: JSON.parse(r.per_class) as ClassMetrics[],
      confusion: JSON.parse(r.confusion) as number[][],
    }));
  }

  /** Drops metrics recorded after a step: a resumed run replays them from its checkpoint. */
  truncateAfter(id: string, step: number): void {
    this.db.transaction(() => {
      this.stmts.truncateSteps.run(id, step);
      this.stmts.truncateEvals.run(id, step);
    })();
  }

  addArtifact(id: string, kind: ArtifactKind, path: string, at = Date.now()): void {
    this.stmts.addArtifact.run(id, kind, path, at);
  }

  replaceArtifacts(id: string, kind: ArtifactKind, paths: readonly string[], at = Date.now()): void {
    this.db.transaction(() => {
      this.stmts.removeArtifacts.run(id, kind);
      for (const p of paths) this.stmts.addArtifact.run(id, kind, p, at);
    })();
  }

  /** True when `p` is a path the app recorded as written (an artifact of any run). */
  isArtifactPath(p: string): boolean {
    return this.stmts.artifactByPath.get(p) !== undefined;
  }

  artifacts(id: string): Artifact[] {
    return (this.stmts.artifacts.all(id) as { kind: ArtifactKind; path: string; created_at: number }[]).map((r) => ({
      kind: r.kind,
      path: r.path,
      createdAt: r.created_at,
    }));
  }
}
