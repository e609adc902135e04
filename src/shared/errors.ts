/**
 * Errors that cross the AppApi boundary. Every failure the UI can see is one of these codes with a
 * message written for the user (what went wrong, what to do), never a stack trace.
 */
export const APP_ERROR_CODES = [
  'invalid_input', // the call's arguments failed validation
  'not_found', // a run, model or file that does not exist
  'conflict', // the operation does not fit the current state (delete a running run...)
  'unsupported', // a format or feature this build cannot handle
  'cancelled', // the user cancelled a long operation
  'io', // reading or writing a file failed
  'network', // a download failed
  'internal', // a bug: the message says so and asks for a report
] as const;
export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

export interface AppErrorData {
  code: AppErrorCode;
  message: string;
  /** For invalid_input: the field path that failed, e.g. "name" or "options.learningRate". */
  field?: string;
}

export class AppError extends Error implements AppErrorData {
  readonly code: AppErrorCode;
  readonly field?: string;
  constructor(code: AppErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    if (field !== undefined) this.field = field;
  }
  toData(): AppErrorData {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
  static fromData(data: AppErrorData): AppError {
    return new AppError(data.code, data.message, data.field);
  }
}

export function isAppErrorData(value: unknown): value is AppErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.message === 'string' &&
    typeof v.code === 'string' &&
    (APP_ERROR_CODES as readonly string[]).includes(v.code)
  );
}

/** What every transport sends back for one call: a value, or an error the UI can show. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: AppErrorData };
