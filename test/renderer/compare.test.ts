import { describe, expect, it } from 'vitest';
import type { EvalMetrics, RunDetail } from '../../src/shared/types';
import { baselineGaps, classDeltas, configDiff, evalCurves, flatten, headlineDeltas, lossCurves } from '../../src/renderer/src/lib/compare';

const evalOf = (epoch: number, acc: number, f1s: Record<string, number>): EvalMetrics => ({
  step: epoch * 10,
  epoch,
  evalLoss: 1 - acc,
  accuracy: acc,
  macroF1: acc - 0.02,
  perClass: Object.entries(f1s).map(([label, f1]) => ({ label, precision: f1, recall: f1, f1, support: 10 })),
  confusion: [],
});

function run(id: string, over: Partial<RunDetail>): RunDetail {
  return {
    id,
    name: id,
    createdAt: 0,
    startedAt: 0,
    finishedAt: 1,
    status: 'completed',
    modelId: 'bert',
    datasetFingerprint: 'f',
    datasetName: 'd',
    backend: 'cpu',
    bestMetric: null,
    bestMetricName: 'accuracy',
    bestAccuracy: null,
    baselineAccuracy: null,
    baselineMacroF1: null,
    error: null,
    owner: null,
    ownedHere: false,
    config: {},
    steps: [],
    evals: [],
    artifacts: [],
    ...over,
  };
}

describe('configuration diff', () => {
  it('flattens nested configurations to dotted keys', () => {
    expect(flatten({ a: 1, b: { c: 'x', d: [1, 2], e: null } })).toEqual({ a: '1', 'b.c': 'x', 'b.d': '[1,2]', 'b.e': 'null' });
  });
  it('marks differing keys (and keys missing on one side), differences first, without file paths', () => {
    const rows = configDiff(
      [
        { name: 'a', options: { lr: 1 }, dataset: { fingerprint: 'x', path: '/a' }, model: { source: 'bert', path: '/m1' } },
        { name: 'a', options: { lr: 2, extra: true }, dataset: { fingerprint: 'x', path: '/b' }, model: { source: 'bert', path: '/m2' } },
      ],
      { differencesFirst: true },
    );
    expect(rows.map((r) => [r.key, r.differs])).toEqual([
      ['options.lr', true],
      ['options.extra', true],
      ['name', false],
      ['dataset.fingerprint', false],
      ['model.source', false],
    ]);
    expect(rows[1]!.values).toEqual(['—', 'true']);
  });
});

describe('metric deltas', () => {
  const a = evalOf(1, 0.8, { World: 0.9, Sports: 0.7 });
  const b = evalOf(1, 0.85, { World: 0.95, Sports: 0.65, Other: 0.5 });
  it('per class, against the first run, for the union of labels', () => {
    const d = classDeltas([a, b]);
    expect(d.map((c) => c.label)).toEqual(['World', 'Sports', 'Other']);
    expect(d[0]!.delta[1]).toBeCloseTo(0.05, 10);
    expect(d[1]!.delta[1]).toBeCloseTo(-0.05, 10);
    expect(d[2]!.f1).toEqual([null, 0.5]);
    expect(d[2]!.delta).toEqual([null, null]);
  });
  it('a run without evaluation has no deltas', () => {
    const d = classDeltas([a, null]);
    expect(d[0]!.f1).toEqual([0.9, null]);
    const h = headlineDeltas([a, null, b]);
    expect(h[0]!.name).toBe('Accuracy');
    expect(h[0]!.delta[1]).toBeNull();
    expect(h[0]!.delta[2]).toBeCloseTo(0.05, 10);
    expect(h[0]!.delta[0]).toBe(0);
  });
});

describe('against the keyword baseline', () => {
  it('each run against its own dataset\'s baseline; missing either side gives no gap', () => {
    const a = evalOf(1, 0.8, { World: 0.9 });
    const gaps = baselineGaps([{ baselineAccuracy: 0.85 }, { baselineAccuracy: 0.7 }, { baselineAccuracy: null }], [a, a, a]);
    expect(gaps[0]!.baseline).toBe(0.85);
    expect(gaps[0]!.gap).toBeCloseTo(-0.05, 10);
    expect(gaps[1]!.gap).toBeCloseTo(0.1, 10);
    expect(gaps[2]).toEqual({ baseline: null, gap: null });
    expect(baselineGaps([{ baselineAccuracy: 0.85 }], [null])[0]).toEqual({ baseline: 0.85, gap: null });
  });
});

describe('curves of several runs', () => {
  it('aligns losses on epochs: runs of other lengths line up', () => {
    const r1 = run('r1', { steps: [1, 2, 3, 4].map((s) => ({ step: s, epoch: s / 4, loss: 1, learningRate: 0, samplesPerSecond: null })) });
    const r2 = run('r2', { steps: [1, 2].map((s) => ({ step: s, epoch: s / 2, loss: 2, learningRate: 0, samplesPerSecond: null })) });
    const [x, y1, y2] = lossCurves([r1, r2], 0);
    expect(x).toEqual([0.25, 0.5, 0.75, 1]);
    expect(y1).toEqual([1, 1, 1, 1]);
    expect(y2).toEqual([null, 2, null, 2]);
  });
  it('sorts unsorted records and bounds long runs', () => {
    const steps = Array.from({ length: 5000 }, (_, i) => ({ step: 5000 - i, epoch: (5000 - i) / 5000, loss: Math.sin(i), learningRate: 0, samplesPerSecond: null }));
    const [x, y] = lossCurves([run('long', { steps })], 0.5, 400);
    expect(x.length).toBe(400);
    expect(y!.length).toBe(400);
    for (let i = 1; i < x.length; i++) expect(x[i]!).toBeGreaterThan(x[i - 1]!);
  });
  it('evaluation curves per metric', () => {
    const r1 = run('r1', { evals: [evalOf(2, 0.9, {}), evalOf(1, 0.8, {})] });
    const r2 = run('r2', { evals: [evalOf(1, 0.7, {})] });
    expect(evalCurves([r1, r2], (e) => e.accuracy)).toEqual([
      [1, 2],
      [0.8, 0.9],
      [0.7, null],
    ]);
  });
});
