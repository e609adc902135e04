/** Any rejection of an AppApi call as an AppError (no DOM: usable in tests). */
import { AppError, APP_ERROR_CODES, isAppErrorData, type AppErrorCode } from '../../../shared/errors';

const CODE_PREFIX = /^\[([a-z_]+)\] /;

/** Turns whatever a call threw into an AppError (the preload sends "[code] message"). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isAppErrorData(err)) return AppError.fromData(err);
  const raw = err instanceof Error ? err.message : String(err);
  // Electron may wrap the message: "Error invoking remote method 'x': Error: [code] ...".
  const inner = raw.replace(/^Error invoking remote method '[^']+': (?:\w*Error: )?/, '');
  const m = CODE_PREFIX.exec(inner);
  if (m && (APP_ERROR_CODES as readonly string[]).includes(m[1]!)) {
    return new AppError(m[1] as AppErrorCode, inner.slice(m[0].length));
  }
  return new AppError('internal', inner || 'Unknown error');
}

/** What to do next, by error code, when the message itself does not say it. */
const NEXT_STEP: Partial<Record<AppErrorCode, string>> = {
  network: 'Check the network connection, or use a model that is already on this machine.',
  io: 'Check that the file or folder exists and is not open in another program, then try again.',
  internal: 'This is a bug in Finetune Studio; please report it with what you were doing.',
};

/**
 * The message for people: no stack trace lines, at most a few hundred characters, and a next step
 * for the codes whose messages may not carry one.
 */
export function userMessage(err: AppError): string {
  const lines = err.message.split('\n').filter((l) => !/^\s+at\s/.test(l) && !/^\s*(Error|TypeError|RangeError):?\s*$/.test(l));
  let text = lines.join(' ').replace(/\s+/g, ' ').trim() || 'Something went wrong.';
  if (text.length > 400) text = `${text.slice(0, 397)}...`;
  const next = NEXT_STEP[err.code];
  if (next && !/try again|check|report|download|choose|use |lower|raise|reduce|fix|set /i.test(text)) text = `${/[.!?]$/.test(text) ? text : `${text}.`} ${next}`;
  return text;
}
