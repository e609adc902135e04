import { describe, expect, it } from 'vitest';
import type { AppEventListener, AppEventName, TaskProgressEvent } from '../../src/shared/api';
import { AppError } from '../../src/shared/errors';
import { progressFraction, Task, type TaskApi } from '../../src/renderer/src/lib/task.svelte';
import { cleaningOf, fallbackMapping, findingFixApplied, labelNamesFor, maxLengthFromFix, taskDetail } from '../../src/renderer/src/lib/data-step';
import { defaultWizard } from '../../src/renderer/src/lib/wizard.svelte';
import type { DatasetInspection, DoctorFinding } from '../../src/shared/dataset';

function fakeApi() {
  const listeners = new Set<(p: TaskProgressEvent) => void>();
  const cancelled: string[] = [];
  const api: TaskApi = {
    on<K extends AppEventName>(_event: K, l: AppEventListener<K>) {
      listeners.add(l as (p: TaskProgressEvent) => void);
      return () => listeners.delete(l as (p: TaskProgressEvent) => void);
    },
    cancelTask: async (id: string) => void cancelled.push(id),
  };
  return { api, listeners, cancelled, emit: (p: TaskProgressEvent) => listeners.forEach((l) => l(p)) };
}

describe('Task', () => {
  it('follows the progress of its own task id and stops listening at the end', async () => {
    const f = fakeApi();
    const t = new Task(f.api, 'inspect');
    let release!: (v: string) => void;
    const done = t.run((id) => {
      f.emit({ taskId: 'other', phase: 'x', done: 9, total: 10, unit: 'rows', etaSeconds: null });
      f.emit({ taskId: id, phase: 'Reading', done: 5, total: 10, unit: 'rows', etaSeconds: 3 });
      return new Promise<string>((r) => (release = r));
    });
    expect(t.running).toBe(true);
    expect(t.progress?.done).toBe(5);
    expect(progressFraction(t.progress)).toBe(0.5);
    release('ok');
    await expect(done).resolves.toBe('ok');
    expect(t.running).toBe(false);
    expect(f.listeners.size).toBe(0);
  });
  it('a cancel is not an error; a failure is an AppError', async () => {
    const f = fakeApi();
    const t = new Task(f.api, 'prepare');
    const p = t.run(() => new Promise((_, reject) => setTimeout(() => reject(new AppError('cancelled', 'Cancelled.')), 5)));
    await t.cancel();
    expect(f.cancelled.length).toBe(1);
    await expect(p).resolves.toBeUndefined();
    expect(t.cancelled).toBe(true);
    expect(t.error).toBeNull();
    await t.run(() => Promise.reject({ code: 'io', message: 'disk full' }));
    expect(t.error?.code).toBe('io');
    expect(t.cancelled).toBe(false);
  });
  it('progress fraction is null while the total is unknown', () => {
    expect(progressFraction(null)).toBeNull();
    expect(progressFraction({ done: 3, total: null })).toBeNull();
    expect(progressFraction({ done: 30, total: 10 })).toBe(1);
  });
});

describe('data step helpers', () => {
  const inspection = {
    parse: { format: 'delimited', encoding: 'utf-8', delimiter: ',', quoted: true, hasHeader: false },
    columns: [
      { index: 0, name: 'column 1', type: 'number', meanLength: 1 },
      { index: 1, name: 'column 2', type: 'text', meanLength: 40 },
      { index: 2, name: 'column 3', type: 'text', meanLength: 190 },
    ],
    suggestedMapping: { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: { '1': 'World' } },
  } as unknown as DatasetInspection;

  it('a fallback mapping takes the longest text and another column as label', () => {
    expect(fallbackMapping(inspection)).toMatchObject({ textColumns: [2], labelColumn: 0 });
  });
  it('label names from classes.txt apply only to their column', () => {
    expect(labelNamesFor(inspection, 0)).toEqual({ '1': 'World' });
    expect(labelNamesFor(inspection, 1)).toBeUndefined();
  });
  it('fixes: what they set and how the card says so', () => {
    const w = defaultWizard();
    const dup: DoctorFinding = { id: 'duplicates', severity: 'info', title: '', detail: '', affected: 3, fix: { kind: 'drop-duplicates', label: 'Keep one' } };
    expect(findingFixApplied(dup, w)).toBeNull();
    w.cleaning.dropDuplicates = true;
    expect(findingFixApplied(dup, w)).toMatch(/dropped/);
    const len: DoctorFinding = { id: 'truncation', severity: 'warning', title: '', detail: '', affected: 3, fix: { kind: 'max-length', label: 'Use max length 256', maxLength: 256 } };
    expect(maxLengthFromFix(len.fix)).toBe(256);
    expect(findingFixApplied(len, w)).toBeNull();
    w.options.maxLength = 256;
    expect(findingFixApplied(len, w)).toMatch(/256/);
    expect(cleaningOf({ dropDuplicates: true, dropConflicting: false })).toEqual({ dropDuplicates: true });
  });
  it('describes task progress', () => {
    expect(taskDetail({ taskId: 't', phase: 'reading', done: 1500, total: 3000, unit: 'rows', etaSeconds: 12 })).toBe('Reading · 1,500 of 3,000 rows · 12s left');
    expect(taskDetail({ taskId: 't', phase: 'Downloading', done: 2_000_000, total: null, unit: 'bytes', etaSeconds: null })).toBe('Downloading · 2.0 MB');
    expect(taskDetail(null)).toBe('');
  });
});
