/**
 * Label normalisation: names for numeric codes, spaces trimmed, and spellings that differ only
 * in case or spacing ("Sports", "sports ") merged into one label, reported. Label order is the
 * numeric order of the codes when every label is a whole number (AG News 1..4 -> World,
 * Sports, Business, Sci/Tech), otherwise alphabetical.
 */
import fs from 'node:fs';
import path from 'node:path';

const INTEGER_RE = /^[+-]?\d+(\.0+)?$/;
const MAX_SPELLINGS = 8;

/** "1", "01", "1.0" -> "1"; null when not a whole number. */
export function integerCode(value: string): string | null {
  if (!INTEGER_RE.test(value)) return null;
  const n = Number.parseInt(value, 10);
  return Number.isSafeInteger(n) ? String(n) : null;
}

function labelKey(name: string): string {
  return name.normalize('NFKC').replace(/\s+/g, ' ').toLowerCase();
}

interface LabelEntry {
  key: string;
  count: number;
  /** Display candidates (trimmed, names applied) with their counts. */
  displays: Map<string, number>;
  /** Raw values as found in the file, for the report. */
  spellings: Map<string, number>;
  code: number | null;
  firstLine: number;
  firstSide: 'train' | 'eval';
  sides: number;
}

export interface LabelSnapshot {
  readonly entries: readonly LabelEntry[];
}

export interface LabelVariantReport {
  label: string;
  spellings: string[];
  count: number;
}

export interface FinishedLabels {
  labels: string[];
  /** provisional id -> final index into labels. */
  finalIndex: Int32Array;
  counts: number[];
  variants: LabelVariantReport[];
  /** Labels seen only in the evaluation rows, with the line where each first appears. */
  evalOnly: { label: string; line: number }[];
}

/**
 * Label values are the user's text: a label may be called "constructor" or "__proto__", so every
 * lookup keyed by one goes through a Map (never a plain object's properties).
 */
export function labelNameMap(labelNames: Readonly<Record<string, string>> | ReadonlyMap<string, string> | undefined): Map<string, string> {
  if (!labelNames) return new Map();
  if (labelNames instanceof Map) return new Map(labelNames);
  return new Map(Object.entries(labelNames as Readonly<Record<string, string>>).filter(([, v]) => typeof v === 'string'));
}

/** A plain record of label names made from entries, with no prototype (so "__proto__" is an ordinary key). */
export function labelNamesRecord(entries: Iterable<[string, string]>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

export class LabelNormaliser {
  private readonly byKey = new Map<string, number>();
  private readonly entries: LabelEntry[] = [];
  private readonly labelNames: Map<string, string>;

  /**
   * labelNames: display names of raw values. fixedOrder: the label order to keep (a prepared
   * dataset's labels), instead of code or alphabetical order.
   */
  constructor(
    labelNames?: Readonly<Record<string, string>> | ReadonlyMap<string, string>,
    private readonly fixedOrder?: readonly string[],
  ) {
    this.labelNames = labelNameMap(labelNames);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The label's provisional id, or -1 when the value is empty (a missing label). */
  add(raw: string, line = 0, side: 'train' | 'eval' = 'train', weight = 1): number {
    const trimmed = raw.trim();
    if (trimmed === '') return -1;
    const code = integerCode(trimmed);
    const named = this.labelNames.get(trimmed) ?? (code !== null ? this.labelNames.get(code) : undefined);
    const display = (named ?? (code ?? trimmed)).trim().replace(/\s+/g, ' ');
    const key = labelKey(display);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.entries.length;
      this.byKey.set(key, id);
      this.entries.push({
        key,
        count: 0,
        displays: new Map(),
        spellings: new Map(),
        code: code !== null ? Number(code) : null,
        firstLine: line,
        firstSide: side,
        sides: 0,
      });
    }
    const entry = this.entries[id]!;
    entry.count += weight;
    entry.sides |= side === 'train' ? 1 : 2;
    if (entry.code === null || code === null) entry.code = null;
    else entry.code = Math.min(entry.code, Number(code));
    if (entry.displays.has(display) || entry.displays.size < MAX_SPELLINGS) entry.displays.set(display, (entry.displays.get(display) ?? 0) + weight);
    if (entry.spellings.has(raw) || entry.spellings.size < MAX_SPELLINGS) entry.spellings.set(raw, (entry.spellings.get(raw) ?? 0) + weight);
    return id;
  }

  /** The state to go back to if a read has to restart (see restore). */
  snapshot(): LabelSnapshot {
    return {
      entries: this.entries.map((e) => ({ ...e, displays: new Map(e.displays), spellings: new Map(e.spellings) })),
    };
  }

  restore(snapshot: LabelSnapshot): void {
    this.entries.length = 0;
    this.byKey.clear();
    for (const e of snapshot.entries) {
      const copy = { ...e, displays: new Map(e.displays), spellings: new Map(e.spellings) };
      this.byKey.set(copy.key, this.entries.length);
      this.entries.push(copy);
    }
  }

  finish(): FinishedLabels {
    const allCodes = this.entries.length > 0 && this.entries.every((e) => e.code !== null);
    const display = (e: LabelEntry): string => {
      let best = '';
      let bestCount = -1;
      for (const [d, c] of e.displays) if (c > bestCount) [best, bestCount] = [d, c];
      return best;
    };
    const order = this.entries
      .map((e, id) => ({ e, id, name: display(e) }))
      .filter(({ e }) => e.count > 0);
    if (this.fixedOrder) {
      const position = new Map(this.fixedOrder.map((name, i) => [labelKey(name), i]));
      const at = (key: string): number => position.get(key) ?? Number.MAX_SAFE_INTEGER;
      order.sort((a, b) => at(a.e.key) - at(b.e.key) || (a.e.key < b.e.key ? -1 : 1));
    } else {
      order.sort((a, b) =>
        allCodes ? a.e.code! - b.e.code! : a.e.key < b.e.key ? -1 : a.e.key > b.e.key ? 1 : a.name < b.name ? -1 : 1,
      );
    }
    const finalIndex = new Int32Array(this.entries.length).fill(-1);
    order.forEach(({ id }, i) => {
      finalIndex[id] = i;
    });
    const variants: LabelVariantReport[] = [];
    for (const { e, name } of order) {
      const spellings = [...e.spellings.keys()];
      const padded = spellings.some((raw) => raw !== raw.trim());
      if (e.displays.size > 1 || padded) variants.push({ label: name, spellings, count: e.count });
    }
    const evalOnly = order.filter(({ e }) => e.sides === 2).map(({ e, name }) => ({ label: name, line: e.firstLine }));
    return { labels: order.map((o) => o.name), finalIndex, counts: order.map((o) => o.e.count), variants, evalOnly };
  }
}

/** Plain-language lines for merged label spellings. */
export function describeVariants(variants: readonly LabelVariantReport[], limit = 10): string[] {
  return variants.slice(0, limit).map((v) => {
    const spellings = v.spellings.map((s) => JSON.stringify(s)).join(', ');
    return `Label spellings ${spellings} were treated as one label, "${v.label}" (${v.count.toLocaleString('en-US')} rows).`;
  });
}

const CLASS_NAME_FILES = ['classes.txt', 'labels.txt'];

/**
 * Names for numeric label codes from a classes.txt (or labels.txt) beside the file, one name per
 * line: code 1 is the first line when the codes start at 1, code 0 when they start at 0.
 */
export function labelNamesBesideFile(file: string, codes: readonly string[]): { names: Record<string, string>; source: string } | null {
  if (codes.length === 0) return null;
  const numbers = codes.map((c) => integerCode(c.trim()));
  if (numbers.some((n) => n === null)) return null;
  const values = numbers.map(Number);
  const min = Math.min(...values);
  const max = Math.max(...values);
  for (const candidate of CLASS_NAME_FILES) {
    const source = path.join(path.dirname(file), candidate);
    let text: string;
    try {
      if (!fs.statSync(source).isFile() || fs.statSync(source).size > 1024 * 1024) continue;
      text = fs.readFileSync(source, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split(/\r\n|\r|\n/).map((l) => l.trim());
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    if (lines.length < 2 || lines.some((l) => l === '')) continue;
    let base: number;
    if (min >= 1 && max <= lines.length) base = 1;
    else if (min >= 0 && max <= lines.length - 1) base = 0;
    else continue;
    const names = labelNamesRecord(codes.map((c) => [c.trim(), lines[Number(integerCode(c.trim())) - base]!]));
    return { names, source };
  }
  return null;
}
