import { describe, expect, it } from 'vitest';
import type { AppEventListener, AppEventName, AppEvents } from '../../src/shared/api';
import type { EvalMetrics, RunDetail, StepMetric } from '../../src/shared/types';
import { RECOMMENDED_OPTIONS } from '../../src/shared/run-config';
import { RunFeed, MAX_LOG_LINES, type FeedApi } from '../../src/renderer/src/lib/run-feed.svelte';

const step = (s: number): StepMetric => ({ step: s, epoch: s / 10, loss: 2 / s, learningRate: 2e-5, samplesPerSecond: 12 });
const evalAt = (s: number, acc: number): EvalMetrics => ({ step: s, epoch: s / 10, evalLoss: 0.5, accuracy: acc, macroF1: acc, perClass: [], confusion: [[1]] });

function detail(steps: StepMetric[], evals: EvalMetrics[] = [], status: RunDetail['status'] = 'running'): RunDetail {
  return {
    id: 'r1',
    name: 'run',
    createdAt: 0,
    startedAt: 1000,
    finishedAt: status === 'running' ? null : 5000,
    status,
    modelId: 'bert',
    datasetFingerprint: 'abc',
    datasetName: 'ag',
    backend: 'cpu',
    bestMetric: null,
    bestMetricName: 'accuracy',
    bestAccuracy: null,
    baselineAccuracy: null,
    baselineMacroF1: null,
    error: null,
    owner: null,
    ownedHere: false,
    config: {
      name: 'run',
      model: { source: 'bert', path: '/m' },
      labels: ['a', 'b'],
      dataset: { fingerprint: 'abc', name: 'ag', trainCount: 100, evalCount: 20, path: null },
      options: { ...RECOMMENDED_OPTIONS, epochs: 1, batchSize: 10 },
    },
    steps,
    evals,
    artifacts: [],
  };
}

/** A fake api: events are emitted by the test; getRun resolves when the test says so. */
function fakeApi() {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const pending: ((d: RunDetail) => void)[] = [];
  let calls = 0;
  const api: FeedApi = {
    on<K extends AppEventName>(event: K, l: AppEventListener<K>) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(l as (p: unknown) => void);
      return () => set.delete(l as (p: unknown) => void);
    },
    getRun: () => {
      calls++;
      return new Promise<RunDetail>((resolve) => pending.push(resolve));
    },
  };
  return {
    api,
    emit<K extends AppEventName>(event: K, payload: AppEvents[K]) {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
    resolveNext(d: RunDetail) {
      pending.shift()!(d);
    },
    get calls() {
      return calls;
    },
    listenerCount: () => [...listeners.values()].reduce((a, s) => a + s.size, 0),
  };
}

const stepEvent = (s: number) => ({ runId: 'r1', ...step(s), totalSteps: 10, gradNorm: 1, samplesPerSecond: 12, tokensPerSecond: 100, etaSeconds: 10 - s, elapsedSeconds: s });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('RunFeed', () => {
  it('merges the record with events that arrived while it loaded, without duplicates', async () => {
    const f = fakeApi();
    const flushes: (() => void)[] = [];
    const feed = new RunFeed('r1', f.api, (fn) => flushes.push(fn), () => 0);
    feed.start();
    // Steps 3 and 4 arrive live before the record (which already has 1..3) comes back.
    f.emit('run-step', stepEvent(3));
    f.emit('run-step', stepEvent(4));
    f.emit('run-step', { ...stepEvent(9), runId: 'other' });
    f.resolveNext(detail([step(1), step(2), step(3)]));
    await tick();
    expect(feed.steps.step).toEqual([1, 2, 3, 4]);
    expect(feed.loaded).toBe(true);
    expect(feed.lastStep?.event.step).toBe(4);
    // More live steps are batched into one flush.
    const v = feed.version;
    f.emit('run-step', stepEvent(5));
    f.emit('run-step', stepEvent(6));
    f.emit('run-eval', { runId: 'r1', metrics: evalAt(6, 0.7), isBest: true });
    expect(feed.steps.length).toBe(4);
    expect(flushes.length).toBeGreaterThan(0);
    flushes.splice(0).forEach((fn) => fn());
    expect(feed.steps.step).toEqual([1, 2, 3, 4, 5, 6]);
    expect(feed.evalList.map((e) => e.step)).toEqual([6]);
    expect(feed.version).toBe(v + 1);
  });

  it('keeps masked-LM steps apart from fine-tuning steps (record and live), without touching the fine-tuning progress', async () => {
    const f = fakeApi();
    const feed = new RunFeed('r1', f.api, (fn) => fn(), () => 0);
    feed.start();
    const mlmStep = (s: number): StepMetric => ({ ...step(s), stage: 'mlm', loss: 8 - s / 10 });
    f.emit('run-step', { ...stepEvent(3), stage: 'mlm', loss: 7.7, totalSteps: 20 });
    f.resolveNext({ ...detail([]), mlmSteps: [mlmStep(1), mlmStep(2)] });
    await tick();
    expect(feed.mlmSteps.step).toEqual([1, 2, 3]);
    expect(feed.mlmSteps.loss).toEqual([7.9, 7.8, 7.7]);
    expect(feed.mlmStepCount).toBe(3);
    expect(feed.lastMlmStep?.totalSteps).toBe(20);
    expect(feed.steps.length).toBe(0);
    expect(feed.lastStep).toBeNull();
    f.emit('run-step', { ...stepEvent(1), stage: 'finetune' });
    expect(feed.steps.step).toEqual([1]);
    expect(feed.mlmSteps.length).toBe(3);
  });

  it('shows the recorded log after a reload, then appends live lines', async () => {
    const f = fakeApi();
    const feed = new RunFeed('r1', f.api, (fn) => fn(), () => 42);
    feed.start();
    f.resolveNext({ ...detail([step(1)]), log: [{ at: 1, message: 'backend: CPU (native kernels)' }, { at: 2, message: 'Tokenised 100 rows' }] });
    await tick();
    expect(feed.logs.map((l) => l.message)).toEqual(['backend: CPU (native kernels)', 'Tokenised 100 rows']);
    f.emit('run-log', { runId: 'r1', message: 'Stopping early' });
    expect(feed.logs.map((l) => l.message)).toEqual(['backend: CPU (native kernels)', 'Tokenised 100 rows', 'Stopping early']);
    // A later reload (the backend arrives with the first steps) keeps what is shown.
    void feed.reload(false);
    f.resolveNext({ ...detail([step(1), step(2)]), log: [{ at: 1, message: 'backend: CPU (native kernels)' }] });
    await tick();
    expect(feed.logs.length).toBe(3);
  });

  it('schedules one flush per frame however many events arrive', async () => {
    const f = fakeApi();
    let scheduled = 0;
    const feed = new RunFeed('r1', f.api, () => scheduled++, () => 0);
    feed.start();
    f.resolveNext(detail([]));
    await tick();
    for (let s = 1; s <= 100; s++) f.emit('run-step', stepEvent(s));
    expect(scheduled).toBe(1);
    feed.flush();
    expect(feed.steps.length).toBe(100);
  });

  it('on a resume, rebuilds from the record (the replayed steps replace the old ones)', async () => {
    const f = fakeApi();
    const feed = new RunFeed('r1', f.api, (fn) => fn(), () => 0);
    feed.start();
    f.resolveNext(detail([step(1), step(2), step(3)], [], 'interrupted'));
    await tick();
    expect(feed.status).toBe('interrupted');
    f.emit('run-status', { runId: 'r1', status: 'running', error: null });
    expect(f.calls).toBe(2);
    // The database was truncated after the checkpoint at step 2.
    f.resolveNext(detail([step(1), step(2)], [], 'running'));
    await tick();
    expect(feed.steps.step).toEqual([1, 2]);
    expect(feed.status).toBe('running');
  });

  it('keeps a bounded log and stops listening when disposed', async () => {
    const f = fakeApi();
    const feed = new RunFeed('r1', f.api, (fn) => fn(), () => 0);
    const dispose = feed.start();
    f.resolveNext(detail([]));
    await tick();
    for (let i = 0; i < MAX_LOG_LINES + 50; i++) f.emit('run-log', { runId: 'r1', message: `line ${i}` });
    expect(feed.logs.length).toBe(MAX_LOG_LINES);
    expect(feed.logs[feed.logs.length - 1]!.message).toBe(`line ${MAX_LOG_LINES + 49}`);
    dispose();
    expect(f.listenerCount()).toBe(0);
  });

  it('reports progress from the live step, moving the clock between steps', async () => {
    const f = fakeApi();
    let now = 10_000;
    const feed = new RunFeed('r1', f.api, (fn) => fn(), () => now);
    feed.start();
    f.resolveNext(detail([step(1), step(2)]));
    await tick();
    // Before a live step: from the record and the configuration (100 rows / batch 10 = 10 steps).
    let p = feed.progress(now);
    expect(p.step).toBe(2);
    expect(p.totalSteps).toBe(10);
    expect(p.elapsedSeconds).toBe(9);
    f.emit('run-step', stepEvent(5));
    now += 2000;
    p = feed.progress(now);
    expect(p.step).toBe(5);
    expect(p.fraction).toBe(0.5);
    expect(p.elapsedSeconds).toBe(7);
    expect(p.etaSeconds).toBe(3);
  });

  it('shows a load error as an AppError', async () => {
    const listeners: unknown[] = [];
    const feed = new RunFeed('gone', { on: () => () => listeners.pop(), getRun: () => Promise.reject({ code: 'not_found', message: 'There is no run "gone".' }) }, (fn) => fn());
    feed.start();
    await tick();
    expect(feed.loadError?.code).toBe('not_found');
    expect(feed.loadError?.message).toContain('no run');
  });
});
