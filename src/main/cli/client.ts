/**
 * The AppApi as the CLI calls it: every call goes through dispatch() (src/main/dispatch.ts), the
 * entry the Electron IPC and the web host use, so the CLI's arguments are validated by the same
 * schemas and its failures are the same AppErrors.
 */
import type { AppApi } from '../../shared/api';
import { AppError } from '../../shared/errors';
import type { App } from '../app';
import { dispatch } from '../dispatch';
import type { CliIo } from './io';
import { taskProgressLine } from './progress';

export function apiClient(api: AppApi): AppApi {
  return new Proxy({} as AppApi, {
    get(_target, method: string) {
      return async (...args: unknown[]) => {
        // Trailing undefined arguments are left out, as JSON would.
        while (args.length && args[args.length - 1] === undefined) args.pop();
        const result = await dispatch(api, method, args);
        if (!result.ok) throw AppError.fromData(result.error);
        return result.value;
      };
    },
  });
}

/** Runs a long AppApi call with a task id: progress on a TTY (when `show`), Ctrl-C cancels it. */
export async function runTask<T>(app: App, io: CliIo, show: boolean, call: (taskId: string) => Promise<T>): Promise<T> {
  const taskId = `cli-${process.pid}-${Date.now().toString(36)}`;
  let shown = false;
  const off = app.events.on('task-progress', (p) => {
    if (p.taskId !== taskId || !show || !io.isTTY || !io.write) return;
    io.write(taskProgressLine(p));
    shown = true;
  });
  const onAbort = (): void => void apiClient(app.api).cancelTask(taskId).catch(() => undefined);
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await call(taskId);
  } finally {
    off();
    io.signal?.removeEventListener('abort', onAbort);
    if (shown && io.write) io.write('\n');
  }
}
