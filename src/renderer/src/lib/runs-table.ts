/** The Runs table's sorting and filtering, as pure functions. */
import type { RunStatus, RunSummary } from '../../../shared/types';
import { runDuration } from './format';
import { modelName } from './run-info';

export const SORT_KEYS = ['name', 'createdAt', 'model', 'dataset', 'status', 'bestAccuracy', 'baselineAccuracy', 'duration'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

export interface RunsQuery {
  text: string;
  status: RunStatus | 'all';
  sort: SortKey;
  dir: SortDir;
}

export const DEFAULT_QUERY: RunsQuery = { text: '', status: 'all', sort: 'createdAt', dir: 'desc' };

function sortValue(r: RunSummary, key: SortKey, now: number): string | number | null {
  switch (key) {
    case 'name':
      return r.name.toLowerCase();
    case 'createdAt':
      return r.createdAt;
    case 'model':
      return modelName(r.modelId).toLowerCase();
    case 'dataset':
      return (r.datasetName ?? '').toLowerCase();
    case 'status':
      return r.status;
    case 'bestAccuracy':
      return r.bestAccuracy;
    case 'baselineAccuracy':
      return r.baselineAccuracy;
    case 'duration':
      return runDuration(r.startedAt, r.finishedAt, now);
  }
}

/** Runs matching the filter, sorted; empty values (no accuracy yet) always sort last. */
export function queryRuns(runs: readonly RunSummary[], q: RunsQuery, now = Date.now()): RunSummary[] {
  const words = q.text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const filtered = runs.filter((r) => {
    if (q.status !== 'all' && r.status !== q.status) return false;
    if (words.length === 0) return true;
    const hay = `${r.name} ${r.modelId ?? ''} ${r.datasetName ?? ''} ${r.status} ${r.id}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  const sign = q.dir === 'asc' ? 1 : -1;
  return filtered
    .map((r, i) => ({ r, i, v: sortValue(r, q.sort, now) }))
    .sort((a, b) => {
      if (a.v === null && b.v === null) return a.i - b.i;
      if (a.v === null) return 1;
      if (b.v === null) return -1;
      const c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
      return c !== 0 ? c * sign : a.i - b.i;
    })
    .map((x) => x.r);
}

/** Clicking a column header: the same column flips the direction; another starts with its natural one. */
export function nextSort(q: RunsQuery, key: SortKey): RunsQuery {
  if (q.sort === key) return { ...q, dir: q.dir === 'asc' ? 'desc' : 'asc' };
  const descFirst: SortKey[] = ['createdAt', 'bestAccuracy', 'baselineAccuracy', 'duration'];
  return { ...q, sort: key, dir: descFirst.includes(key) ? 'desc' : 'asc' };
}
