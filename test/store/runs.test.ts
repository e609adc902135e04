import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { openDatabase } from '../../src/main/store/database';
import { RunRepository } from '../../src/main/store/runs';
import type { EvalMetrics } from '../../src/shared/types';

let db: Database.Database;
let repo: RunRepository;
beforeEach(() => {
  db = openDatabase(':memory:');
  repo = new RunRepository(db);
});
afterEach(() => db.close());

const evalAt = (step: number, accuracy: number): EvalMetrics => ({
  step,
  epoch: step / 10,
  evalLoss: 1 - accuracy,
  accuracy,
  macroF1: accuracy - 0.01,
  perClass: [{ label: 'a', precision: 1, recall: accuracy, f1: 0.5, support: 3 }],
  confusion: [[1, 2], [0, 3]],
});

describe('RunRepository', () => {
  it('creates, lists newest first, renames and deletes runs', () => {
    repo.create({ id: 'r1', name: 'first', config: { lr: 1 }, createdAt: 1000, modelId: 'bert', datasetName: 'ag' });
    repo.create({ id: 'r2', name: 'second', config: {}, createdAt: 2000 });
    expect(repo.list().map((r) => r.id)).toEqual(['r2', 'r1']);
    const r1 = repo.summary('r1')!;
    expect(r1).toMatchObject({ name: 'first', status: 'queued', modelId: 'bert', datasetName: 'ag', startedAt: null, bestAccuracy: null });
    expect(repo.rename('r1', 'renamed')!.name).toBe('renamed');
    expect(repo.rename('missing', 'x')).toBeNull();
    expect(repo.delete('r2')).toBe(true);
    expect(repo.delete('r2')).toBe(false);
    expect(repo.list().map((r) => r.id)).toEqual(['r1']);
  });

  it('stamps start and finish times with status changes and records the backend and error', () => {
    repo.create({ id: 'r', name: 'r', config: {} });
    repo.setStatus('r', 'running', { at: 10, backend: 'wasm' });
    expect(repo.summary('r')).toMatchObject({ status: 'running', startedAt: 10, finishedAt: null, backend: 'wasm' });
    repo.setStatus('r', 'failed', { at: 20, error: 'boom' });
    expect(repo.summary('r')).toMatchObject({ status: 'failed', startedAt: 10, finishedAt: 20, error: 'boom' });
    repo.setStatus('r', 'running', { at: 30 });
    expect(repo.summary('r')).toMatchObject({ status: 'running', startedAt: 10, finishedAt: null, error: null });
  });

  it('stores steps, evaluations (per-class and confusion JSON), best metric and artifacts; truncates after a step', () => {
    repo.create({ id: 'r', name: 'r', config: { options: { bestMetric: 'accuracy' } } });
    repo.addSteps('r', [1, 2, 3, 4].map((s) => ({ step: s, epoch: s / 2, loss: 1 / s, learningRate: 0.1, samplesPerSecond: 5 })));
    repo.addEval('r', evalAt(2, 0.5), { metricName: 'accuracy', value: 0.5 });
    repo.addEval('r', evalAt(4, 0.4));
    repo.addArtifact('r', 'model', '/x/model');
    repo.addArtifact('r', 'model', '/x/model');
    const d = repo.get('r')!;
    expect(d.steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    expect(d.evals.map((e) => e.accuracy)).toEqual([0.5, 0.4]);
    expect(d.evals[0]!.confusion).toEqual([[1, 2], [0, 3]]);
    expect(d.evals[0]!.perClass[0]!.support).toBe(3);
    expect(d.bestAccuracy).toBe(0.5);
    expect(d.artifacts).toHaveLength(1);
    repo.truncateAfter('r', 2);
    expect(repo.steps('r').map((s) => s.step)).toEqual([1, 2]);
    expect(repo.evals('r').map((e) => e.step)).toEqual([2]);
  });

  it('keeps masked-LM steps apart from fine-tuning steps (same step numbers); truncating a resumed fine-tuning keeps them', () => {
    repo.create({ id: 'r', name: 'r', config: {} });
    repo.addSteps('r', [1, 2, 3].map((s) => ({ stage: 'mlm' as const, step: s, epoch: s / 3, loss: 9 - s, learningRate: 5e-4, samplesPerSecond: 4 })));
    repo.addSteps('r', [1, 2].map((s) => ({ step: s, epoch: s / 2, loss: 1 / s, learningRate: 0.1, samplesPerSecond: 5 })));
    const d = repo.get('r')!;
    expect(d.steps.map((s) => s.loss)).toEqual([1, 0.5]);
    expect(d.mlmSteps!.map((s) => [s.stage, s.step, s.loss])).toEqual([['mlm', 1, 8], ['mlm', 2, 7], ['mlm', 3, 6]]);
    repo.truncateAfter('r', 1);
    expect(repo.steps('r').map((s) => s.step)).toEqual([1]);
    expect(repo.mlmSteps('r').map((s) => s.step)).toEqual([1, 2, 3]);
  });

  it('deleting a run removes its metrics and artifacts (foreign keys cascade)', () => {
    repo.create({ id: 'r', name: 'r', config: {} });
    repo.addSteps('r', [{ step: 1, epoch: 1, loss: 1, learningRate: 1, samplesPerSecond: null }]);
    repo.addEval('r', evalAt(1, 0.3));
    repo.addArtifact('r', 'log', '/l');
    repo.delete('r');
    for (const t of ['step_metrics', 'epoch_metrics', 'artifacts']) {
      expect((db.prepare(`SELECT count(*) n FROM ${t}`).get() as { n: number }).n, t).toBe(0);
    }
    expect(() => repo.addSteps('ghost', [{ step: 1, epoch: 1, loss: 1, learningRate: 1, samplesPerSecond: null }])).toThrow(/FOREIGN KEY/);
  });

  it('on start, runs left running or queued by a crash become interrupted; finished runs are untouched', () => {
    for (const [id, status] of [['a', 'running'], ['b', 'queued'], ['c', 'completed'], ['d', 'failed']] as const) {
      repo.create({ id, name: id, config: {} });
      if (status !== 'queued') repo.setStatus(id, status);
    }
    expect(repo.recoverInterrupted(99)).toBe(2);
    expect(repo.summary('a')).toMatchObject({ status: 'interrupted', finishedAt: 99 });
    expect(repo.summary('a')!.error).toMatch(/stopped while this run was in progress/);
    expect(repo.summary('b')!.status).toBe('interrupted');
    expect(repo.summary('c')!.status).toBe('completed');
    expect(repo.summary('d')!.status).toBe('failed');
    expect(repo.recoverInterrupted()).toBe(0);
  });
});
