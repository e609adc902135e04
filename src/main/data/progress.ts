/** Progress of long dataset work: throttled updates with counts and an ETA. */
import type { DataProgress } from '../../shared/dataset';
import { AppError } from '../../shared/errors';

export type ProgressListener = (progress: DataProgress) => void;

/** Options every long dataset operation accepts. */
export interface LongTaskOptions {
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Sends at most one update per interval, plus the first and the last. */
export class ProgressReporter {
  private readonly startedAt = Date.now();
  private lastSentAt = 0;

  constructor(
    private readonly phase: string,
    private readonly total: number | null,
    private readonly unit: DataProgress['unit'],
    private readonly listener: ProgressListener | undefined,
    private readonly intervalMs = 200,
  ) {}

  update(done: number, force = false): void {
    if (!this.listener) return;
    const now = Date.now();
    if (!force && now - this.lastSentAt < this.intervalMs) return;
    this.lastSentAt = now;
    const elapsed = (now - this.startedAt) / 1000;
    let etaSeconds: number | null = null;
    if (this.total !== null && done > 0 && elapsed >= 0.25) {
      etaSeconds = Math.max(0, ((this.total - done) * elapsed) / done);
    }
    this.listener({ phase: this.phase, done, total: this.total, unit: this.unit, etaSeconds });
  }

  finish(done: number): void {
    if (!this.listener) return;
    this.listener({ phase: this.phase, done, total: this.total ?? done, unit: this.unit, etaSeconds: 0 });
  }
}

/** Throws AppError('cancelled') when the signal was aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  throwIfAborted(signal, what);
}

/** The one cancellation check of the data and export work: "<what> was cancelled[; <consequence>]." */
export function throwIfAborted(signal: AbortSignal | undefined, what: string, consequence?: string): void {
  if (signal?.aborted) throw new AppError('cancelled', `${what} was cancelled${consequence ? `; ${consequence}` : ''}.`);
}
