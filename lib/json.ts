/**
 * JSON values as they come off the wire or out of a manifest: the one type
 * guard for a JSON object and the one structural equality (patches,
 * server-side apply, the CLI's three-way merge and status writes compare with
 * it). Pure; used by the API server, the CLI, the controllers and the drivers
 * that parse tool output.
 */

/** JsonMap is a JSON object: string keys, values still to be narrowed. */
export type JsonMap = { [key: string]: unknown };

/** isJsonMap tells whether a value is a plain JSON object (not an array, not null). */
export function isJsonMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * stringFieldOr reads the string `field` of the JSON object in `text` (a
 * server's message, a lock's holder); when the text is not such an object it
 * returns the text itself, cut to `max` characters, so it can still be shown.
 */
export function stringFieldOr(text: string, field: string, max: number): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isJsonMap(parsed) && typeof parsed[field] === 'string') return parsed[field];
  } catch {
    // not JSON: show the text
  }
  return text.slice(0, max);
}

/** DeepEqualOptions: keys to leave out of the comparison, at any depth. */
export interface DeepEqualOptions {
  /**
   * ignoreKeys are object keys whose values are not compared wherever they
   * occur (for example a condition's `lastTransitionTime`); a key present on
   * one side only is ignored too.
   */
  ignoreKeys?: ReadonlySet<string>;
}

// A key holding undefined is absent, as JSON.stringify and the store see it.
function keysOf(o: Record<string, unknown>, opts: DeepEqualOptions): string[] {
  return Object.keys(o).filter((k) => o[k] !== undefined && !opts.ignoreKeys?.has(k));
}

/**
 * deepEqual is true when `a` and `b` are the same JSON value: equal
 * primitives, arrays of equal elements in the same order, objects with the
 * same own keys holding equal values (key order does not matter; a key
 * holding `undefined` counts as absent, as in JSON). With
 * `ignoreKeys`, those keys are left out of every object compared.
 */
export function deepEqual(a: unknown, b: unknown, opts: DeepEqualOptions = {}): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i], opts));
  if (isJsonMap(a) && isJsonMap(b)) {
    const ka = keysOf(a, opts);
    const kb = keysOf(b, opts);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && b[k] !== undefined && deepEqual(a[k], b[k], opts));
  }
  return false;
}

/**
 * findKey looks through a JSON value, at any depth, for an object holding one
 * of `keys` as an own property, and returns where the first one is as a field
 * path (`.spec.__proto__`, `.items[2].constructor`), or undefined. It walks
 * with its own stack, so a deeply nested document cannot overflow the call
 * stack.
 */
export function findKey(value: unknown, keys: ReadonlySet<string>): string | undefined {
  const stack: Array<{ v: unknown; path: string }> = [{ v: value, path: '' }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, path } = top;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
    } else if (isJsonMap(v)) {
      const own = Object.keys(v);
      const bad = own.find((k) => keys.has(k));
      if (bad !== undefined) return `${path}.${bad}`;
      for (let i = own.length - 1; i >= 0; i--) {
        const k = own[i] as string;
        stack.push({ v: v[k], path: `${path}.${k}` });
      }
    }
  }
  return undefined;
}
