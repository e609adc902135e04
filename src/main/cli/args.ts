/**
 * The one argument parser of the `finetune` command. Each command (and subcommand) declares a
 * CommandSpec: its flags with their type, whether they are required or repeatable, and their help;
 * the parser checks values against it, prints --help from it, and refuses an unknown flag with
 * the nearest known one ("unknown option --epoch; did you mean --epochs?").
 *
 * One error class (UsageError: the command line is wrong, exit 2) and one error line for every
 * failure: `finetune <command>: <message>` on stderr, exit 1 when the command failed.
 */
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { CliIo } from './io';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface FlagBase {
  help: string;
  /** The placeholder in the help ("FILE", "N"). */
  value?: string;
  /** Given more than once: every value is kept (a comma list also counts as several). */
  repeat?: boolean;
  required?: boolean;
}

export type FlagDef =
  | { kind: 'switch'; help: string }
  | (FlagBase & { kind: 'string'; choices?: readonly string[] })
  /** A file or folder: "~" is expanded to the home folder. */
  | (FlagBase & { kind: 'path' })
  | (FlagBase & { kind: 'number'; integer?: boolean; min?: number; max?: number });

export interface CommandSpec {
  /** "train", "data doctor": the prefix of its error lines. */
  path: string;
  /** Positional arguments as the synopsis shows them ("FILE", "RUN_ID"). */
  args?: string;
  /** How many positional arguments it takes. */
  positionals?: { min: number; max: number };
  summary: string;
  flags: Record<string, FlagDef>;
  /** Lines after the flag list. */
  notes?: readonly string[];
}

export const JSON_FLAG: FlagDef = { kind: 'switch', help: 'machine-readable output (JSON)' };

/** "~" and "~/x" as the shell would expand them (the app and the web host get the same paths). */
export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

/** Levenshtein distance (small strings: flag names). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name nearest to `name`, when it is a plausible typo (at most 2 edits, under half the name). */
export function nearest(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== null && bestD <= 2 && bestD < Math.max(2, name.length / 2) ? best : null;
}

export class Args {
  constructor(
    readonly spec: CommandSpec,
    readonly positional: string[],
    private readonly values: Map<string, string[]>,
  ) {}

  /** A switch was given, or a value flag was. */
  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  /** Every value of a repeatable flag, comma lists split. */
  list(name: string): string[] {
    return (this.values.get(name) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  }

  /** Every value as given (texts may hold commas). */
  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  number(name: string): number | undefined {
    const v = this.values.get(name)?.[0];
    return v === undefined ? undefined : Number(v);
  }
}

function checkValue(name: string, def: FlagDef, raw: string): string {
  if (def.kind === 'path') return expandHome(raw);
  if (def.kind === 'string' && def.choices && !def.choices.includes(raw)) {
    const near = nearest(raw, def.choices);
    throw new UsageError(`--${name}: "${raw}" is not one of ${def.choices.join(', ')}${near ? `; did you mean ${near}?` : ''}`);
  }
  if (def.kind === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name}: "${raw}" is not a number`);
    if (def.integer && !Number.isInteger(n)) throw new UsageError(`--${name}: "${raw}" is not a whole number`);
    if (def.min !== undefined && n < def.min) throw new UsageError(`--${name}: ${raw} is below ${def.min}`);
    if (def.max !== undefined && n > def.max) throw new UsageError(`--${name}: ${raw} is above ${def.max}`);
  }
  return raw;
}

/** Parses argv against the spec; null when --help was asked (the help is then printed). */
export function parseArgs(spec: CommandSpec, argv: readonly string[], io?: CliIo): Args | null {
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const def = spec.flags[name];
    if (!def) {
      const near = nearest(name, Object.keys(spec.flags));
      throw new UsageError(`unknown option --${name}${near ? `; did you mean --${near}?` : ''}`);
    }
    if (def.kind === 'switch') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      values.set(name, ['']);
      continue;
    }
    let raw: string | undefined;
    if (eq > 0) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      // "--model --json": the value is missing, not "--json".
      if (raw !== undefined && raw.startsWith('--') && raw.length > 2) raw = undefined;
      else i++;
    }
    if (raw === undefined) throw new UsageError(`--${name} needs a value${def.value ? ` (${def.value})` : ''}`);
    const list = values.get(name) ?? [];
    if (list.length && !def.repeat) throw new UsageError(`--${name} was given ${list.length + 1} times`);
    list.push(checkValue(name, def, raw));
    values.set(name, list);
  }
  if (help) {
    if (io) helpLines(spec).forEach((l) => io.out(l));
    return null;
  }
  const count = spec.positionals ?? { min: 0, max: 0 };
  if (positional.length > count.max) throw new UsageError(`unexpected argument "${positional[count.max]}"`);
  if (positional.length < count.min) throw new UsageError(`${spec.args ?? 'an argument'} is required: finetune ${spec.path} ${spec.args ?? ''}`.trimEnd());
  for (const [name, def] of Object.entries(spec.flags)) {
    if (def.kind !== 'switch' && def.required && !values.has(name)) throw new UsageError(`--${name} is required (${def.help})`);
  }
  return new Args(spec, positional, values);
}

/** `finetune <command> --help`, from the spec. */
export function helpLines(spec: CommandSpec): string[] {
  const required = Object.entries(spec.flags).filter(([, d]) => d.kind !== 'switch' && d.required);
  const synopsis = [`finetune ${spec.path}`, spec.args, ...required.map(([n, d]) => `--${n} ${(d as FlagBase).value ?? 'X'}`), '[options]'].filter(Boolean).join(' ');
  const rows = Object.entries(spec.flags).map(([n, d]) => {
    const left = d.kind === 'switch' ? `--${n}` : `--${n} ${d.value ?? (d.kind === 'number' ? 'N' : 'X')}${d.repeat ? '...' : ''}`;
    const choices = d.kind === 'string' && d.choices ? `; one of ${d.choices.join(', ')}` : '';
    return [left, `${d.help}${choices}${d.kind !== 'switch' && d.required ? ' [required]' : ''}`] as const;
  });
  const width = Math.min(30, Math.max(...rows.map(([l]) => l.length)));
  return [`Usage: ${synopsis}`, '', spec.summary, '', 'Options:', ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`), ...(spec.notes?.length ? ['', ...spec.notes] : [])];
}

/**
 * Exit code of a failure: 2 when the command line is wrong (a UsageError, or an invalid input the
 * app tied to a field of the request), 1 otherwise.
 */
export function exitCodeFor(err: unknown): 1 | 2 {
  if (err instanceof UsageError) return 2;
  if (err instanceof AppError && err.code === 'invalid_input' && err.field !== undefined) return 2;
  return 1;
}

/** The one error line: `finetune <command>: <message>`. */
export function errorLine(commandPath: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `finetune ${commandPath}: ${message.split('\n')[0]}`;
}

/**
 * Runs a command body and turns any failure into the one error line and its exit code. `where`
 * is read after a failure, so a command can name its subcommand once it knows it.
 */
export async function guarded(io: CliIo, where: () => string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    io.err(errorLine(where(), err));
    return exitCodeFor(err);
  }
}
