/**
 * Limited-memory BFGS (Nocedal & Wright, algorithm 7.4 and 7.5) with a backtracking Armijo line
 * search, for smooth convex objectives such as L2-regularised logistic regression. Float64 all
 * through. Async only so that it can hand the event loop a turn between iterations: a worker's
 * cancel message is delivered, and the AbortSignal seen, while the fit is still running.
 */
import { AppError } from '../../../shared/errors';

/** Writes the gradient at x into `gradient` and returns the objective at x. */
export type ObjectiveWithGradient = (x: Float64Array, gradient: Float64Array) => number;

/** gradient: the gradient is within tolerance; flat: the objective stopped falling; max-iterations: not converged. */
export type StopReason = 'gradient' | 'flat' | 'max-iterations';

export interface LbfgsOptions {
  maxIterations?: number;
  /** Converged when max |gradient_i| <= this. */
  gradientTolerance?: number;
  /** Converged when the last five iterations lowered f by no more than this each on average, relatively to max(|f|, 1). */
  relativeTolerance?: number;
  /** Pairs (s, y) kept. */
  history?: number;
  signal?: AbortSignal;
  /** Called after every iteration. */
  onIteration?: (state: { iteration: number; objective: number; gradientMax: number }) => void;
  /** What was cancelled, for the error message. */
  what?: string;
}

export interface LbfgsResult {
  x: Float64Array;
  objective: number;
  gradientMax: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: StopReason;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function minimiseLbfgs(fg: ObjectiveWithGradient, x0: Float64Array, options: LbfgsOptions = {}): Promise<LbfgsResult> {
  const maxIterations = options.maxIterations ?? 1000;
  const gtol = options.gradientTolerance ?? 1e-5;
  const ftol = options.relativeTolerance ?? 1e-10;
  const window = 5;
  const recent: number[] = [];
  const m = Math.max(1, options.history ?? 10);
  const what = options.what ?? 'The fit';
  const n = x0.length;

  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const d = new Float64Array(n);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  let newestYY = 1;

  let f = fg(x, g);
  let evaluations = 1;
  let gMax = maxAbs(g);
  let iteration = 0;
  let reason: StopReason = 'max-iterations';
  if (gMax <= gtol) reason = 'gradient';

  while (reason === 'max-iterations' && iteration < maxIterations) {
    await yieldToEventLoop();
    if (options.signal?.aborted) throw new AppError('cancelled', `${what} was cancelled.`);

    // Direction: the two-loop recursion over the kept pairs (oldest first in S/Y), each update
    // fused with the next dot product so that every pair costs one pass over the parameters.
    const kept = S.length;
    if (kept === 0) {
      for (let i = 0; i < n; i++) d[i] = -g[i];
    } else {
      let next = 0;
      const sNewest = S[kept - 1];
      for (let t = 0; t < n; t++) {
        d[t] = -g[t];
        next += sNewest[t] * d[t];
      }
      for (let i = kept - 1; i >= 0; i--) {
        const a = rho[i] * next;
        alpha[i] = a;
        const y = Y[i];
        const sBefore = i > 0 ? S[i - 1] : null;
        next = 0;
        if (sBefore) {
          for (let t = 0; t < n; t++) {
            const v = d[t] - a * y[t];
            d[t] = v;
            next += sBefore[t] * v;
          }
        } else {
          for (let t = 0; t < n; t++) d[t] -= a * y[t];
        }
      }
      const gamma = 1 / (rho[kept - 1] * newestYY);
      next = 0;
      const yOldest = Y[0];
      for (let t = 0; t < n; t++) {
        const v = d[t] * gamma;
        d[t] = v;
        next += yOldest[t] * v;
      }
      for (let i = 0; i < kept; i++) {
        const c = alpha[i] - rho[i] * next;
        const s = S[i];
        const yAfter = i + 1 < kept ? Y[i + 1] : null;
        next = 0;
        if (yAfter) {
          for (let t = 0; t < n; t++) {
            const v = d[t] + c * s[t];
            d[t] = v;
            next += yAfter[t] * v;
          }
        } else {
          for (let t = 0; t < n; t++) d[t] += c * s[t];
        }
      }
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): forget the history, go downhill.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = dot(g, d);
    }

    // Backtracking line search (Armijo, c1 = 1e-4) with safeguarded quadratic interpolation.
    let step = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = fg(xNew, gNew);
      evaluations++;
      if (fNew <= f + 1e-4 * step * slope) break;
      const interpolated = (-slope * step * step) / (2 * (fNew - f - slope * step));
      step = Number.isFinite(interpolated) ? Math.min(0.5 * step, Math.max(0.1 * step, interpolated)) : 0.5 * step;
    }
    if (!(fNew <= f)) {
      reason = 'flat';
      break;
    }

    // Keep the pair (s, y) when the curvature is positive; the oldest goes when the memory is full.
    const s = S.length === m ? S.shift()! : new Float64Array(n);
    const y = Y.length === m ? Y.shift()! : new Float64Array(n);
    if (rho.length === m) rho.shift();
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
      sy += s[i] * y[i];
    }
    const yy = dot(y, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * yy)) {
      newestYY = yy;
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }

    recent.push(f);
    if (recent.length > window) recent.shift();
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    gMax = maxAbs(g);
    iteration++;
    options.onIteration?.({ iteration, objective: f, gradientMax: gMax });
    if (gMax <= gtol) reason = 'gradient';
    else if (recent.length === window && (recent[0] - f) / window <= ftol * Math.max(Math.abs(f), 1)) reason = 'flat';
  }
  return { x, objective: f, gradientMax: gMax, iterations: iteration, evaluations, converged: reason !== 'max-iterations', reason };
}
