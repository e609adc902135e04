import { describe, expect, it } from 'vitest';
import { alignCurves, downsampleCurve, emaSmooth, EvalHistory, lttbIndices, StepHistory } from '../../src/renderer/src/lib/series';
import type { EvalMetrics, StepMetric } from '../../src/shared/types';

const step = (s: number, loss = 1 / s, lr = 1e-5): StepMetric => ({ step: s, epoch: s / 10, loss, learningRate: lr, samplesPerSecond: 10 });
const evalAt = (s: number, acc: number): EvalMetrics => ({ step: s, epoch: s / 10, evalLoss: 1 - acc, accuracy: acc, macroF1: acc - 0.01, perClass: [], confusion: [] });

describe('emaSmooth', () => {
  it('is debiased: a constant stays constant from the first point', () => {
    expect(emaSmooth([2, 2, 2, 2], 0.9).map((v) => Number(v.toFixed(12)))).toEqual([2, 2, 2, 2]);
  });
  it('weight 0 is the raw series; higher weights lag behind a jump', () => {
    expect(emaSmooth([1, 5, 3], 0)).toEqual([1, 5, 3]);
    const s = emaSmooth([0, 0, 0, 10, 10], 0.5);
    expect(s[3]!).toBeGreaterThan(0);
    expect(s[3]!).toBeLessThan(10);
    expect(s[4]!).toBeGreaterThan(s[3]!);
  });
  it('matches the debiased formula', () => {
    const w = 0.6;
    const v = [3, 1];
    const acc1 = (1 - w) * 3;
    const acc2 = acc1 * w + (1 - w) * 1;
    const s = emaSmooth(v, w);
    expect(s[0]).toBeCloseTo(acc1 / (1 - w), 12);
    expect(s[1]).toBeCloseTo(acc2 / (1 - w * w), 12);
  });
  it('skips non-finite values without poisoning the average', () => {
    const s = emaSmooth([1, NaN, 1], 0.5);
    expect(Number.isNaN(s[1])).toBe(true);
    expect(s[2]).toBeCloseTo(1, 12);
  });
});

describe('lttbIndices', () => {
  it('keeps everything when under the threshold', () => {
    expect(lttbIndices([1, 2, 3], [1, 2, 3], 10)).toEqual([0, 1, 2]);
  });
  it('bounds the points, keeps the ends, sorted and unique, and keeps a spike', () => {
    const n = 10_000;
    const xs = Array.from({ length: n }, (_, i) => i);
    const ys = xs.map((x) => (x === 5_000 ? 100 : Math.sin(x / 100)));
    const idx = lttbIndices(xs, ys, 500);
    expect(idx.length).toBe(500);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(n - 1);
    for (let i = 1; i < idx.length; i++) expect(idx[i]!).toBeGreaterThan(idx[i - 1]!);
    expect(idx).toContain(5_000);
  });
  it('handles tiny thresholds', () => {
    expect(lttbIndices([1, 2, 3, 4], [1, 2, 3, 4], 2)).toEqual([0, 3]);
  });
});

describe('StepHistory', () => {
  it('merges history and live events in any order without duplicates', () => {
    const h = new StepHistory(0.5);
    // Live events arrived first (steps 4, 5), then the database's record (1..4).
    h.merge([step(4), step(5)]);
    h.merge([step(1), step(2), step(3), step(4)]);
    expect(h.step).toEqual([1, 2, 3, 4, 5]);
    // Same as merging in order.
    const ordered = new StepHistory(0.5);
    ordered.merge([1, 2, 3, 4, 5].map((s) => step(s)));
    expect(h.smoothed).toEqual(ordered.smoothed);
    expect(h.loss).toEqual(ordered.loss);
  });
  it('a repeated step keeps the latest values and reports no change when equal', () => {
    const h = new StepHistory();
    expect(h.merge([step(1, 2), step(2, 1)])).toBe(true);
    expect(h.merge([step(2, 1)])).toBe(false);
    expect(h.merge([step(2, 0.5)])).toBe(true);
    expect(h.loss).toEqual([2, 0.5]);
    expect(h.length).toBe(2);
  });
  it('appends incrementally with the same smoothing as a full pass', () => {
    const h = new StepHistory(0.9);
    const losses = Array.from({ length: 50 }, (_, i) => 2 * Math.exp(-i / 10) + (i % 3) * 0.1);
    for (let i = 0; i < losses.length; i++) h.merge([step(i + 1, losses[i]!)]);
    const full = emaSmooth(losses, 0.9);
    h.smoothed.forEach((v, i) => expect(v).toBeCloseTo(full[i]!, 12));
  });
  it('truncates after a step (a resumed run replays from its checkpoint)', () => {
    const h = new StepHistory();
    h.merge([1, 2, 3, 4].map((s) => step(s)));
    h.truncateAfter(2);
    expect(h.step).toEqual([1, 2]);
    h.merge([step(3, 9)]);
    expect(h.loss[2]).toBe(9);
  });
  it('chartData is bounded for long runs and keeps the last point', () => {
    const h = new StepHistory();
    h.merge(Array.from({ length: 20_000 }, (_, i) => step(i + 1, Math.random())));
    const d = h.chartData(1000);
    expect(d.step.length).toBe(1000);
    expect(d.smoothed.length).toBe(1000);
    expect(d.step[d.step.length - 1]).toBe(20_000);
    const small = new StepHistory();
    small.merge([step(1), step(2)]);
    expect(small.chartData(1000).step).toEqual([1, 2]);
  });
});

describe('EvalHistory', () => {
  it('keeps one evaluation per step, sorted', () => {
    const h = new EvalHistory();
    h.merge([evalAt(20, 0.8)]);
    h.merge([evalAt(10, 0.5), evalAt(20, 0.8)]);
    expect(h.all.map((e) => e.step)).toEqual([10, 20]);
    expect(h.merge([evalAt(10, 0.5)])).toBe(false);
    expect(h.merge([evalAt(10, 0.6)])).toBe(true);
    expect(h.all[0]!.accuracy).toBe(0.6);
  });
  it('gives a new array when it changes (for reactive views)', () => {
    const h = new EvalHistory();
    h.merge([evalAt(1, 0.5)]);
    const before = h.all;
    h.merge([evalAt(2, 0.6)]);
    expect(h.all).not.toBe(before);
  });
});

describe('alignCurves', () => {
  it('puts curves on the union of their x values, null where a curve has no point', () => {
    const a = alignCurves([
      { x: [0.5, 1], y: [0.7, 0.8] },
      { x: [1, 2], y: [0.75, 0.85] },
    ]);
    expect(a[0]).toEqual([0.5, 1, 2]);
    expect(a[1]).toEqual([0.7, 0.8, null]);
    expect(a[2]).toEqual([null, 0.75, 0.85]);
  });
  it('treats float noise as one x value', () => {
    const a = alignCurves([
      { x: [0.1 + 0.2], y: [1] },
      { x: [0.3], y: [2] },
    ]);
    expect(a[0].length).toBe(1);
    expect(a[1]).toEqual([1]);
    expect(a[2]).toEqual([2]);
  });
  it('handles no curves and empty curves', () => {
    expect(alignCurves([])).toEqual([[]]);
    expect(alignCurves([{ x: [], y: [] }, { x: [1], y: [3] }])).toEqual([[1], [null], [3]]);
  });
  it('downsampleCurve bounds a curve', () => {
    const x = Array.from({ length: 5000 }, (_, i) => i);
    const c = downsampleCurve({ x, y: x.map((v) => v % 7) }, 300);
    expect(c.x.length).toBe(300);
    expect(c.y.length).toBe(300);
  });
});
