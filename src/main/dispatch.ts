/**
 * One entry for every transport: validates a call's method and arguments with the shared
 * schemas, runs it, and turns any failure into a CallResult error the UI can show.
 */
import type { AppApi } from '../shared/api';
import { AppError, type AppErrorData, type CallResult } from '../shared/errors';
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
  const message = err instanceof Error ? err.message : String(err);
  console.error(`[${method}] unexpected error:`, err);
  return {
    code: 'internal',
    message: `Something went wrong in ${method}: ${message}. This is a bug; please report it with the log.`,
  };
}
