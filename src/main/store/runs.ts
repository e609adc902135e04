/** The typed repository over the runs, metrics and artifacts tables. Only the parent process writes. */
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../shared/json';
import type {
  Artifact,
  ArtifactKind,
  ClassMetrics,
  EvalMetrics,
  RunDetail,
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

const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled', 'interrupted']);

function toSummary(row: RunRow): RunSummary {
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
    error: row.error,
  };
}

export class RunRepository {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
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
        'SELECT step, epoch, loss, learning_rate, samples_per_second FROM step_metrics WHERE run_id = ? ORDER BY step',
      ),
      stepsAfter: db.prepare(
        'SELECT step, epoch, loss, learning_rate, samples_per_second FROM step_metrics WHERE run_id = ? AND step > ? ORDER BY step',
      ),
      evals: db.prepare(
        'SELECT step, epoch, eval_loss, accuracy, macro_f1, per_class, confusion FROM epoch_metrics WHERE run_id = ? ORDER BY step',
      ),
      artifacts: db.prepare('SELECT kind, path, created_at FROM artifacts WHERE run_id = ? ORDER BY id'),
      addStep: db.prepare(
        `INSERT OR REPLACE INTO step_metrics (run_id, step, epoch, loss, learning_rate, samples_per_second)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      addEval: db.prepare(
        `INSERT OR REPLACE INTO epoch_metrics (run_id, step, epoch, eval_loss, accuracy, macro_f1, per_class, confusion)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      addArtifact: db.prepare(
        'INSERT OR IGNORE INTO artifacts (run_id, kind, path, created_at) VALUES (?, ?, ?, ?)',
      ),
      removeArtifacts: db.prepare('DELETE FROM artifacts WHERE run_id = ? AND kind = ?'),
      recover: db.prepare(
        `UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?),
           error = COALESCE(error, 'The app stopped while this run was in progress.')
         WHERE status IN ('running', 'queued')`,
      ),
      truncateSteps: db.prepare('DELETE FROM step_metrics WHERE run_id = ? AND step > ?'),
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
    return row ? toSummary(row) : null;
  }

  get(id: string): RunDetail | null {
    const row = this.stmts.get.get(id) as RunRow | undefined;
    if (!row) return null;
    return {
      ...toSummary(row),
      config: JSON.parse(row.config) as JsonObject,
      steps: this.steps(id),
      evals: this.evals(id),
      artifacts: this.artifacts(id),
    };
  }

  config(id: string): JsonObject | null {
    const row = this.stmts.get.get(id) as RunRow | undefined;
    return row ? (JSON.parse(row.config) as JsonObject) : null;
  }

  list(): RunSummary[] {
    return (this.stmts.list.all() as RunRow[]).map(toSummary);
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
    if (TERMINAL.has(status)) sets.push('finished_at = @at');
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

  /** Runs left running or queued by a crash become interrupted. Returns how many. */
  recoverInterrupted(at = Date.now()): number {
    return this.stmts.recover.run(at).changes;
  }

  addSteps(id: string, steps: readonly StepMetric[]): void {
    const insert = this.db.transaction((rows: readonly StepMetric[]) => {
      for (const s of rows) {
        this.stmts.addStep.run(id, s.step, s.epoch, s.loss, s.learningRate, s.samplesPerSecond);
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

  artifacts(id: string): Artifact[] {
    return (this.stmts.artifacts.all(id) as { kind: ArtifactKind; path: string; created_at: number }[]).map((r) => ({
      kind: r.kind,
      path: r.path,
      createdAt: r.created_at,
    }));
  }
}
