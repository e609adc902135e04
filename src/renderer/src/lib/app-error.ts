/** Any rejection of an AppApi call as an AppError (no DOM: usable in tests). */
import { AppError, isAppErrorData, type AppErrorCode } from '../../../shared/errors';

/**
 * Turns whatever a call threw into an AppError. The hosts hand the renderer typed errors (the
 * preload's CallResult, the web host's JSON body); anything else is unexpected: 'internal'.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isAppErrorData(err)) return AppError.fromData(err);
  const raw = err instanceof Error ? err.message : String(err);
  return new AppError('internal', raw || 'Unknown error');
}

/** What to do next, by error code, when the message itself does not say it. */
const NEXT_STEP: Partial<Record<AppErrorCode, string>> = {
  network: 'Check the network connection, or use a model that is already on this machine.',
  io: 'Check that the file or folder exists and is not open in another program, then try again.',
  internal: 'This is a bug in Finetune Studio; please report it with what you were doing.',
};

/**
 * The user's own names of files the app knows by another path (an upload is stored in the data
 * folder as "<time>-<random>-<name>"): messages show the name the user gave the file.
 */
const fileNames = new Map<string, string>();

export function rememberFileName(path: string, name: string): void {
  if (!path || !name) return;
  fileNames.set(path, name);
  const base = path.split(/[\\/]/).pop();
  if (base && base !== name) fileNames.set(base, name);
}

/** A message with the app's internal file paths and upload names replaced by the user's file names. */
export function displayText(text: string): string {
  let out = text;
  // Longest first: a full path before its own base name.
  for (const key of [...fileNames.keys()].sort((a, b) => b.length - a.length)) {
    if (out.includes(key)) out = out.split(key).join(fileNames.get(key)!);
  }
  return out;
}

/** System error codes in messages, in plain words (the code stays in the details). */
const SYSTEM_CODES: [RegExp, string][] = [
  [/\b(ENOTFOUND|EAI_AGAIN)\b/, 'the server name could not be found (no internet connection, or it is blocked)'],
  [/\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/, 'the connection was refused or cut'],
  [/\b(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)\b/, 'the connection timed out'],
  [/\b(EACCES|EPERM)\b/, 'permission denied'],
  [/\bENOSPC\b/, 'the disk is full'],
];

/**
 * A plain sentence and, when the message carries technical words (a system error code), the
 * full message for a "Details" disclosure.
 */
export function plainMessage(err: AppError): { text: string; details: string | null } {
  const full = userMessage(err);
  const found = SYSTEM_CODES.find(([re]) => re.test(full));
  if (!found) return { text: full, details: null };
  const lead = err.code === 'network' ? 'Could not download' : 'The operation failed';
  const next = NEXT_STEP[err.code] ? ` ${NEXT_STEP[err.code]}` : '';
  return { text: `${lead}: ${found[1]}.${next}`, details: full };
}

/**
 * The message for people: no stack trace lines, at most a few hundred characters, and a next step
 * for the codes whose messages may not carry one.
 */
export function userMessage(err: AppError): string {
  const lines = displayText(err.message).split('\n').filter((l) => !/^\s+at\s/.test(l) && !/^\s*(Error|TypeError|RangeError):?\s*$/.test(l));
  let text = lines.join(' ').replace(/\s+/g, ' ').trim() || 'Something went wrong.';
  if (text.length > 400) text = `${text.slice(0, 397)}...`;
  const next = NEXT_STEP[err.code];
  if (next && !/try again|check|report|download|choose|use |lower|raise|reduce|fix|set /i.test(text)) text = `${/[.!?]$/.test(text) ? text : `${text}.`} ${next}`;
  return text;
}
