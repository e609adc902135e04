/**
 * One entry for every transport: validates a call's method and arguments with the shared
 * schemas, runs it, and turns any failure into a CallResult error the UI can show.
 */
import type { AppApi } from '../shared/api';
import { AppError, appErrorFromErrno, type AppErrorData, type CallResult } from '../shared/errors';
import { isApiMethod, parseArgs } from '../shared/schema';

export async function dispatch(api: AppApi, method: string, args: unknown): Promise<CallResult<unknown>> {
  try {
    if (!isApiMethod(method)) throw new AppError('not_found', `Unknown method "${method}".`);
    const parsed = parseArgs(method, args);
    const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
    const value = await fn.apply(api, parsed as unknown[]);
    return { ok: true, value: value === undefined ? null : value };
  } catch (err) {
    return { ok: false, error: toErrorData(err, method) };
  }
}

export function toErrorData(err: unknown, method: string): AppErrorData {
  if (err instanceof AppError) return err.toData();
  // Resource errors (full disk, permissions, read-only disk, a folder for a file, a missing
  // path) are the user's to fix, not bugs: they get their own code and the next step.
  const mapped = systemError(err);
  if (mapped) return mapped.toData();
  const message = err instanceof Error ? err.message : String(err);
  console.error(`[${method}] unexpected error:`, err);
  return {
    code: 'internal',
    message: `Something went wrong in ${method}: ${message}. This is a bug; please report it with the log.`,
  };
}

/** The AppError for a Node system error (or one in its `cause` chain), or null. */
export function systemError(err: unknown): AppError | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const sys = e as NodeJS.ErrnoException & { dest?: string };
    if (typeof sys.code === 'string') {
      const mapped = appErrorFromErrno(sys.code, sys.path ?? sys.dest ?? null);
      if (mapped) return mapped;
    }
  }
  return null;
}
