/**
 * Lookups keyed by user text (labels, names from a file, command names): a plain `{}` answers
 * `constructor`, `toString` or `__proto__` from Object.prototype, and `o['__proto__'] = v` sets the
 * prototype instead of a key. These read only own keys and build objects without a prototype.
 */

/** obj[key] when obj has it as its own key; undefined otherwise (never an Object.prototype member). */
export function ownValue<T>(obj: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
  return obj != null && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** An empty record without a prototype: any key, `__proto__` included, is an ordinary own key (and JSON.stringify keeps it). */
export function nullRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
