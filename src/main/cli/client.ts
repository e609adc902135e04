/**
 * The AppApi as the CLI calls it: every call goes through dispatch() (src/main/dispatch.ts), the
 * entry the Electron IPC and the web host use, so the CLI's arguments are validated by the same
 * schemas and its failures are the same AppErrors.
 */
import type { AppApi } from '../../shared/api';
import { AppError } from '../../shared/errors';
import { dispatch } from '../dispatch';

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
