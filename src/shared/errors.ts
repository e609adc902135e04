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
  'owned_elsewhere', // a run another live process (finetune train, another web host) is training
  'disk_full', // ENOSPC / EDQUOT: free space on the disk, then try again (or Resume)
  'permission_denied', // EACCES / EPERM: the app may not read or write that path
  'read_only', // EROFS: the path is on a read-only disk
  'is_directory', // EISDIR: a folder was given where a file is needed
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

/**
 * The AppError for an operating-system error code (err.code of a Node fs error), with the next
 * step in its message; null for codes that are not about the user's files or disk. The one place
 * these are worded: dispatch (every call), the run service (a failed run) and the worker jobs use it.
 */
export function appErrorFromErrno(errno: string | undefined, filePath?: string | null, what?: string): AppError | null {
  const where = filePath ? ` (${filePath})` : '';
  const doing = what ? `${what}: ` : '';
  // SQLite's own codes for the same causes (the run database on a full or read-only disk).
  if (errno === 'SQLITE_FULL') errno = 'ENOSPC';
  else if (errno?.startsWith('SQLITE_READONLY')) errno = 'EROFS';
  else if (errno === 'SQLITE_CORRUPT' || errno === 'SQLITE_NOTADB') {
    return new AppError('io', `${doing}the run database is damaged. Restart Finetune Studio: it keeps the damaged file aside and rebuilds the history from the run folders.`);
  }
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new AppError('disk_full', `${doing}the disk is full${where}. Free some space on that disk, then try again.`);
    case 'EACCES':
    case 'EPERM':
      return new AppError('permission_denied', `${doing}permission denied${where}. Check the permissions of that file or folder, or choose another location.`);
    case 'EROFS':
      return new AppError('read_only', `${doing}the disk is read-only${where}. Choose a folder on a writable disk.`);
    case 'EISDIR':
      return new AppError('is_directory', `${doing}${filePath ?? 'the path'} is a folder, not a file. Choose a file inside it.`);
    case 'ENOENT':
      return new AppError('not_found', `${doing}${filePath ?? 'a file'} does not exist (it may have been moved or deleted). Check the path and try again.`);
    case 'ENOTDIR':
      return new AppError('not_found', `${doing}a part of ${filePath ?? 'the path'} is a file, not a folder. Check the path and try again.`);
    default:
      return null;
  }
}

/** The next step for a run that failed on a resource error: the run keeps its checkpoints. */
export function runResourceAdvice(errno: string | undefined): string | null {
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'The disk is full: free some space, then Resume the run (it continues from its last checkpoint).';
    case 'EACCES':
    case 'EPERM':
      return 'Permission was denied on the run folder: check its permissions, then Resume the run.';
    case 'EROFS':
      return 'The data folder is on a read-only disk: make it writable, then Resume the run.';
    default:
      return null;
  }
}

/** What every transport sends back for one call: a value, or an error the UI can show. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: AppErrorData };
