/**
 * A long AppApi call with progress and cancel: it picks a taskId, follows the 'task-progress'
 * events of that id and turns a rejection into an error message (a cancel is not an error).
 */
import type { RendererApi, TaskProgressEvent } from '../../../shared/api';
import type { AppError } from '../../../shared/errors';
import { toAppError } from './app-error';

export type TaskApi = Pick<RendererApi, 'on' | 'cancelTask'>;

let counter = 0;
export function newTaskId(prefix: string): string {
  counter++;
  const rand = Math.random().toString(36).slice(2, 8);
  return `${prefix}-${Date.now().toString(36)}-${counter}-${rand}`;
}

/** done/total as 0..1, or null while the total is unknown. */
export function progressFraction(p: Pick<TaskProgressEvent, 'done' | 'total'> | null): number | null {
  if (!p || p.total === null || p.total <= 0) return null;
  return Math.max(0, Math.min(1, p.done / p.total));
}

export class Task {
  running = $state(false);
  progress = $state.raw<TaskProgressEvent | null>(null);
  error = $state.raw<AppError | null>(null);
  /** True when the last run ended because the user cancelled it. */
  cancelled = $state(false);
  private taskId: string | null = null;

  constructor(
    private readonly api: TaskApi,
    private readonly prefix: string,
  ) {}

  /** Runs fn(taskId); resolves to its value, or undefined when it failed or was cancelled. */
  async run<T>(fn: (taskId: string) => Promise<T>): Promise<T | undefined> {
    if (this.running && this.taskId) await this.cancel();
    const id = newTaskId(this.prefix);
    this.taskId = id;
    this.running = true;
    this.progress = null;
    this.error = null;
    this.cancelled = false;
    const off = this.api.on('task-progress', (p) => {
      if (p.taskId === id) this.progress = p;
    });
    try {
      return await fn(id);
    } catch (err) {
      const e = toAppError(err);
      if (this.taskId !== id) return undefined;
      if (e.code === 'cancelled') this.cancelled = true;
      else this.error = e;
      return undefined;
    } finally {
      off();
      if (this.taskId === id) {
        this.running = false;
        this.taskId = null;
      }
    }
  }

  async cancel(): Promise<void> {
    const id = this.taskId;
    if (!id) return;
    try {
      await this.api.cancelTask(id);
    } catch {
      // Already over.
    }
  }

  clearError(): void {
    this.error = null;
  }
}
