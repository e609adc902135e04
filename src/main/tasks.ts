/**
 * Long calls with a caller-chosen taskId: each gets an AbortSignal (cancelTask aborts it) and a
 * progress reporter that emits 'task-progress' events, at most a few per second.
 */
import { AppError } from '../shared/errors';
import type { TaskProgressEvent } from '../shared/api';
import type { AppEventBus } from './events';

export interface TaskHandle {
  signal: AbortSignal;
  progress(p: Omit<TaskProgressEvent, 'taskId'>): void;
}

const MIN_INTERVAL_MS = 150;

export class TaskRegistry {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly events: AppEventBus) {}

  /** Runs fn as a task; without a taskId it still gets a signal (never aborted) and a silent reporter. */
  async run<T>(taskId: string | undefined, fn: (task: TaskHandle) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    if (taskId) {
      if (this.running.has(taskId)) throw new AppError('conflict', `A task "${taskId}" is already running.`);
      this.running.set(taskId, controller);
    }
    let last = 0;
    const handle: TaskHandle = {
      signal: controller.signal,
      progress: (p) => {
        if (!taskId) return;
        const now = Date.now();
        const final = p.total !== null && p.done >= p.total;
        if (!final && now - last < MIN_INTERVAL_MS) return;
        last = now;
        this.events.emit('task-progress', { taskId, ...p });
      },
    };
    try {
      return await fn(handle);
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof AppError && err.code !== 'cancelled')) {
        throw new AppError('cancelled', 'Cancelled.');
      }
      throw err;
    } finally {
      if (taskId) this.running.delete(taskId);
    }
  }

  cancel(taskId: string): void {
    this.running.get(taskId)?.abort();
  }

  cancelAll(): void {
    for (const c of this.running.values()) c.abort();
  }
}
