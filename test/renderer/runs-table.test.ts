import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/shared/types';
import { DEFAULT_QUERY, nextSort, queryRuns } from '../../src/renderer/src/lib/runs-table';

const run = (id: string, over: Partial<RunSummary> = {}): RunSummary => ({
  id,
  name: id,
  createdAt: 0,
  startedAt: 0,
  finishedAt: 1000,
  status: 'completed',
  modelId: 'bert-base-uncased',
  datasetFingerprint: null,
  datasetName: 'ag_news',
  backend: null,
  bestMetric: null,
  bestMetricName: null,
  bestAccuracy: null,
  baselineAccuracy: null,
  baselineMacroF1: null,
  error: null,
  owner: null,
  ownedHere: false,
  ...over,
});

const runs = [
  run('b', { createdAt: 2, bestAccuracy: 0.9, modelId: 'roberta-base', finishedAt: 5000 }),
  run('a', { createdAt: 3, bestAccuracy: null, status: 'failed', datasetName: 'imdb' }),
  run('c', { createdAt: 1, bestAccuracy: 0.95, modelId: '/home/me/models/distil', startedAt: null, finishedAt: null }),
];

describe('runs table', () => {
  it('newest first by default', () => {
    expect(queryRuns(runs, DEFAULT_QUERY).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });
  it('sorts by a column both ways; empty values always last', () => {
    const byAcc = { ...DEFAULT_QUERY, sort: 'bestAccuracy' as const, dir: 'desc' as const };
    expect(queryRuns(runs, byAcc).map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect(queryRuns(runs, { ...byAcc, dir: 'asc' }).map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(queryRuns(runs, { ...DEFAULT_QUERY, sort: 'name', dir: 'asc' }).map((r) => r.id)).toEqual(['a', 'b', 'c']);
    // The model column sorts by the name shown (the folder's last part for a local model).
    expect(queryRuns(runs, { ...DEFAULT_QUERY, sort: 'model', dir: 'asc' }).map((r) => r.id)).toEqual(['a', 'c', 'b']);
    expect(queryRuns(runs, { ...DEFAULT_QUERY, sort: 'duration', dir: 'desc' }, 10_000).map((r) => r.id)).toEqual(['b', 'a', 'c']);
  });
  it('filters by words (all must match) and by status', () => {
    expect(queryRuns(runs, { ...DEFAULT_QUERY, text: 'roberta' }).map((r) => r.id)).toEqual(['b']);
    expect(queryRuns(runs, { ...DEFAULT_QUERY, text: 'AG_NEWS bert' }).map((r) => r.id)).toEqual(['b']);
    expect(queryRuns(runs, { ...DEFAULT_QUERY, status: 'failed' }).map((r) => r.id)).toEqual(['a']);
    expect(queryRuns(runs, { ...DEFAULT_QUERY, text: 'nothing' })).toEqual([]);
  });
  it('sorts by the keyword baseline, runs without one last', () => {
    const rows = [run('x', { baselineAccuracy: 0.8 }), run('y', { baselineAccuracy: null }), run('z', { baselineAccuracy: 0.9 })];
    expect(queryRuns(rows, { ...DEFAULT_QUERY, sort: 'baselineAccuracy', dir: 'desc' }).map((r) => r.id)).toEqual(['z', 'x', 'y']);
    expect(queryRuns(rows, { ...DEFAULT_QUERY, sort: 'baselineAccuracy', dir: 'asc' }).map((r) => r.id)).toEqual(['x', 'z', 'y']);
  });
  it('a header click flips the same column, or starts another in its natural order', () => {
    const q = nextSort(DEFAULT_QUERY, 'createdAt');
    expect(q.dir).toBe('asc');
    expect(nextSort(q, 'name')).toMatchObject({ sort: 'name', dir: 'asc' });
    expect(nextSort(q, 'bestAccuracy')).toMatchObject({ sort: 'bestAccuracy', dir: 'desc' });
  });
});
