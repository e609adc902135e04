/**
 * Chart data handling, free of the DOM and of uPlot: smoothing (EMA), downsampling (LTTB), the
 * step and evaluation histories that merge the database's record with live events without
 * duplicates, and the alignment of several runs on one x axis for comparison.
 */
import type { EvalMetrics, StepMetric } from '../../../shared/types';

/** Default smoothing weight of the loss curve (TensorBoard's slider; 0 = raw, 0.99 = very smooth). */
export const DEFAULT_SMOOTHING = 0.8;

/**
 * Exponential moving average with TensorBoard's debiasing: the first values are not pulled towards
 * zero. weight 0 returns the values themselves. Non-finite values are carried over unchanged and
 * do not enter the average.
 */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  const out = new Array<number>(values.length);
  let acc = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    acc = acc * weight + (1 - weight) * v;
    n++;
    out[i] = weight === 0 ? v : acc / (1 - Math.pow(weight, n));
  }
  return out;
}

/**
 * Largest-Triangle-Three-Buckets: the indexes of at most `threshold` points that keep the visual
 * shape of (xs, ys), the first and the last included. Returns every index when there are fewer.
 */
export function lttbIndices(xs: ArrayLike<number>, ys: ArrayLike<number>, threshold: number): number[] {
  const n = xs.length;
  if (n <= threshold) return Array.from({ length: n }, (_, i) => i);
  if (threshold < 3) return threshold <= 1 ? [n - 1] : [0, n - 1];
  const out: number[] = [0];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // The average of the next bucket is the third corner of the triangle.
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    let count = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      const y = ys[j]!;
      if (!Number.isFinite(y)) continue;
      avgX += xs[j]!;
      avgY += y;
      count++;
    }
    if (count > 0) {
      avgX /= count;
      avgY /= count;
    } else {
      avgX = xs[Math.min(nextStart, n - 1)]!;
      avgY = ys[a]!;
    }
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    const ax = xs[a]!;
    const ay = ys[a]!;
    let maxArea = -1;
    let chosen = start;
    for (let j = start; j < end; j++) {
      const y = ys[j]!;
      if (!Number.isFinite(y)) continue;
      const area = Math.abs((ax - avgX) * (y - ay) - (ax - xs[j]!) * (avgY - ay));
      if (area > maxArea) {
        maxArea = area;
        chosen = j;
      }
    }
    out.push(chosen);
    a = chosen;
  }
  out.push(n - 1);
  return out;
}

/** Picks the given indexes of an array. */
export function pick<T>(values: readonly T[], indexes: readonly number[]): T[] {
  return indexes.map((i) => values[i]!);
}

/** Index of the first element >= value in a sorted array (binary search). */
export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What a chart of the training steps draws: steps with raw loss, smoothed loss and learning rate. */
export interface StepChartData {
  step: number[];
  epoch: number[];
  loss: number[];
  smoothed: number[];
  learningRate: number[];
}

/**
 * The training steps of one run, sorted by step, one entry per step. The database's history and
 * the live events are merged into it in any order: a step seen twice keeps its latest values.
 * The smoothed loss is kept up to date incrementally (appends cost O(1)).
 */
export class StepHistory {
  readonly step: number[] = [];
  readonly epoch: number[] = [];
  readonly loss: number[] = [];
  readonly learningRate: number[] = [];
  readonly samplesPerSecond: (number | null)[] = [];
  /** The debiased EMA of the loss. */
  readonly smoothed: number[] = [];
  /** The biased accumulator and count behind smoothed, per index (to resume after an insertion). */
  private readonly acc: number[] = [];
  private readonly count: number[] = [];

  constructor(readonly smoothing = DEFAULT_SMOOTHING) {}

  get length(): number {
    return this.step.length;
  }

  get lastStep(): number | null {
    return this.step.length ? this.step[this.step.length - 1]! : null;
  }

  clear(): void {
    for (const a of [this.step, this.epoch, this.loss, this.learningRate, this.samplesPerSecond, this.smoothed, this.acc, this.count]) a.length = 0;
  }

  /** Merges steps (any order, duplicates allowed). Returns true when anything changed. */
  merge(points: readonly StepMetric[]): boolean {
    let dirtyFrom = Infinity;
    let changed = false;
    for (const p of points) {
      const last = this.lastStep;
      if (last === null || p.step > last) {
        this.step.push(p.step);
        this.epoch.push(p.epoch);
        this.loss.push(p.loss);
        this.learningRate.push(p.learningRate);
        this.samplesPerSecond.push(p.samplesPerSecond);
        this.smoothed.push(NaN);
        this.acc.push(0);
        this.count.push(0);
        dirtyFrom = Math.min(dirtyFrom, this.step.length - 1);
        changed = true;
        continue;
      }
      const i = lowerBound(this.step, p.step);
      if (this.step[i] === p.step) {
        if (this.loss[i] === p.loss && this.learningRate[i] === p.learningRate && this.epoch[i] === p.epoch) continue;
        this.epoch[i] = p.epoch;
        this.loss[i] = p.loss;
        this.learningRate[i] = p.learningRate;
        this.samplesPerSecond[i] = p.samplesPerSecond;
      } else {
        this.step.splice(i, 0, p.step);
        this.epoch.splice(i, 0, p.epoch);
        this.loss.splice(i, 0, p.loss);
        this.learningRate.splice(i, 0, p.learningRate);
        this.samplesPerSecond.splice(i, 0, p.samplesPerSecond);
        this.smoothed.splice(i, 0, NaN);
        this.acc.splice(i, 0, 0);
        this.count.splice(i, 0, 0);
      }
      dirtyFrom = Math.min(dirtyFrom, i);
      changed = true;
    }
    if (changed) this.resmooth(dirtyFrom);
    return changed;
  }

  /** Drops the steps after `step` (a resumed run replays them). */
  truncateAfter(step: number): void {
    const i = lowerBound(this.step, step + 1);
    for (const a of [this.step, this.epoch, this.loss, this.learningRate, this.samplesPerSecond, this.smoothed, this.acc, this.count]) a.length = i;
  }

  private resmooth(from: number): void {
    const w = this.smoothing;
    let acc = from > 0 ? this.acc[from - 1]! : 0;
    let n = from > 0 ? this.count[from - 1]! : 0;
    for (let i = from; i < this.step.length; i++) {
      const v = this.loss[i]!;
      if (Number.isFinite(v)) {
        acc = acc * w + (1 - w) * v;
        n++;
        this.smoothed[i] = w === 0 ? v : acc / (1 - Math.pow(w, n));
      } else {
        this.smoothed[i] = v;
      }
      this.acc[i] = acc;
      this.count[i] = n;
    }
  }

  /** At most maxPoints points for a chart, chosen by LTTB on the raw loss (spikes stay visible). */
  chartData(maxPoints = 1500): StepChartData {
    const idx = lttbIndices(this.step, this.loss, maxPoints);
    if (idx.length === this.step.length) {
      return { step: this.step.slice(), epoch: this.epoch.slice(), loss: this.loss.slice(), smoothed: this.smoothed.slice(), learningRate: this.learningRate.slice() };
    }
    return {
      step: pick(this.step, idx),
      epoch: pick(this.epoch, idx),
      loss: pick(this.loss, idx),
      smoothed: pick(this.smoothed, idx),
      learningRate: pick(this.learningRate, idx),
    };
  }
}

/** The evaluations of one run, sorted by step, one per step (the latest wins). */
export class EvalHistory {
  private items: EvalMetrics[] = [];

  get all(): readonly EvalMetrics[] {
    return this.items;
  }

  get length(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }

  merge(evals: readonly EvalMetrics[]): boolean {
    let changed = false;
    for (const e of evals) {
      const steps = this.items.map((m) => m.step);
      const i = lowerBound(steps, e.step);
      if (this.items[i]?.step === e.step) {
        if (sameEval(this.items[i]!, e)) continue;
        this.items[i] = e;
      } else {
        this.items.splice(i, 0, e);
      }
      changed = true;
    }
    if (changed) this.items = this.items.slice();
    return changed;
  }

  truncateAfter(step: number): void {
    this.items = this.items.filter((m) => m.step <= step);
  }
}

function sameEval(a: EvalMetrics, b: EvalMetrics): boolean {
  return a.accuracy === b.accuracy && a.macroF1 === b.macroF1 && a.evalLoss === b.evalLoss && a.epoch === b.epoch;
}

/** One curve of a comparison: its x values (sorted) and y values. */
export interface Curve {
  x: readonly number[];
  y: readonly (number | null)[];
}

/** uPlot's aligned data: one shared x array, then one y array per curve (null where it has no point). */
export type Aligned = [number[], ...(number | null)[][]];

/**
 * Puts several curves on one shared x axis, as uPlot needs: the sorted union of their x values
 * (values closer than `epsilon` count as one), each curve null where it has no point.
 */
export function alignCurves(curves: readonly Curve[], epsilon = 1e-9): Aligned {
  const all: number[] = [];
  for (const c of curves) for (const x of c.x) if (Number.isFinite(x)) all.push(x);
  all.sort((a, b) => a - b);
  const xs: number[] = [];
  for (const x of all) if (xs.length === 0 || x - xs[xs.length - 1]! > epsilon) xs.push(x);
  const ys = curves.map((c) => {
    const y = new Array<number | null>(xs.length).fill(null);
    let j = 0;
    for (let i = 0; i < c.x.length; i++) {
      const x = c.x[i]!;
      if (!Number.isFinite(x)) continue;
      while (j < xs.length - 1 && xs[j]! < x - epsilon) j++;
      if (Math.abs(xs[j]! - x) <= epsilon) y[j] = c.y[i] ?? null;
    }
    return y;
  });
  return [xs, ...ys];
}

/** A curve cut to at most maxPoints points by LTTB (null y values count as gaps). */
export function downsampleCurve(curve: Curve, maxPoints: number): Curve {
  const ys = curve.y.map((v) => (v === null ? NaN : v));
  const idx = lttbIndices(curve.x, ys, maxPoints);
  if (idx.length === curve.x.length) return curve;
  return { x: pick(curve.x as number[], idx), y: pick(curve.y as (number | null)[], idx) };
}
