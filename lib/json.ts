/**
 * JSON values as they come off the wire or out of a manifest: the one type
 * guard for a JSON object and the one structural equality. Pure; used by the
 * API server, the CLI and the drivers that parse tool output.
 */

/** JsonMap is a JSON object: string keys, values still to be narrowed. */
export type JsonMap = { [key: string]: unknown };

/** isJsonMap tells whether a value is a plain JSON object (not an array, not null). */
export function isJsonMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * deepEqual compares two JSON values structurally: arrays element by element
 * in order, objects by their own keys regardless of order, everything else
 * with `===`.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isJsonMap(a) && isJsonMap(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
