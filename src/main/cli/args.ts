/** A small, strict flag parser shared by the CLI commands: unknown flags are usage errors. */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** Flags that take a value (repeatable: all values are kept). */
  values: readonly string[];
  /** Flags without a value. */
  switches: readonly string[];
}

export interface ParsedFlags {
  positional: string[];
  values: Map<string, string[]>;
  switches: Set<string>;
}

export function parseFlags(argv: readonly string[], spec: FlagSpec): ParsedFlags {
  const out: ParsedFlags = { positional: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      out.switches.add('help');
      continue;
    }
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (spec.switches.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      out.switches.add(name);
      continue;
    }
    if (!spec.values.includes(name)) throw new UsageError(`unknown option --${name}`);
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    const list = out.values.get(name) ?? [];
    list.push(value);
    out.values.set(name, list);
  }
  return out;
}

export function flag(f: ParsedFlags, name: string): string | undefined {
  const v = f.values.get(name);
  if (v && v.length > 1) throw new UsageError(`--${name} was given ${v.length} times`);
  return v?.[0];
}

export function numberFlag(f: ParsedFlags, name: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  const raw = flag(f, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name}: "${raw}" is not a number`);
  if (opts.integer && !Number.isInteger(n)) throw new UsageError(`--${name}: "${raw}" is not a whole number`);
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`--${name}: ${raw} is below ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${name}: ${raw} is above ${opts.max}`);
  return n;
}
