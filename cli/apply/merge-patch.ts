/**
 * Client-side apply the way kubectl does it, so that kubectl and cloudlet
 * applies interoperate: the manifest is recorded in the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation, serialised
 * byte for byte like kubectl (Go's encoding/json: sorted keys, HTML-safe
 * escapes, trailing newline), and an update is a three-way JSON merge patch
 * (RFC 7386) of last-applied (original), the new manifest (modified) and the
 * live object (current): fields dropped from the manifest become `null`.
 */

import { deepEqual, isJsonMap, type JsonMap } from '../../lib/json.js';

/** LAST_APPLIED_ANNOTATION is the annotation kubectl and cloudlet keep the applied manifest in. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** goJson serialises like Go's json.Marshal of a map: keys sorted, `<>&` and U+2028/9 escaped, no newline. */
export function goJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (isJsonMap(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${goString(k)}:${goJson(value[k])}`).join(',')}}`;
  }
  if (typeof value === 'string') return goString(value);
  if (value === undefined) return 'null';
  return JSON.stringify(value);
}

function goString(s: string): string {
  return JSON.stringify(s).replace(/\\(.)|[<>&\u2028\u2029]/g, (m: string, escaped: string | undefined) => {
    if (escaped !== undefined) {
      if (escaped === 'b') return '\\u0008';
      if (escaped === 'f') return '\\u000c';
      return m;
    }
    return `\\u${m.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * withLastApplied returns the object to send on apply (`modified`): the
 * manifest with the last-applied annotation set to the manifest itself
 * (with any stale last-applied removed and `annotations: {}` kept, as kubectl
 * records it). The manifest is not changed.
 */
export function withLastApplied(manifest: JsonMap): { modified: JsonMap; annotation: string } {
  const copy = structuredClone(manifest);
  const metadata = isJsonMap(copy.metadata) ? copy.metadata : {};
  copy.metadata = metadata;
  const annotations: JsonMap = isJsonMap(metadata.annotations) ? metadata.annotations : {};
  delete annotations[LAST_APPLIED_ANNOTATION];
  metadata.annotations = annotations;
  const annotation = `${goJson(copy)}\n`;
  const modified = structuredClone(copy);
  (modified.metadata as JsonMap).annotations = { ...annotations, [LAST_APPLIED_ANNOTATION]: annotation };
  return { modified, annotation };
}

/** lastAppliedOf reads and parses the last-applied annotation of a live object, or undefined. */
export function lastAppliedOf(live: JsonMap): JsonMap | undefined {
  const metadata = isJsonMap(live.metadata) ? live.metadata : undefined;
  const annotations = metadata && isJsonMap(metadata.annotations) ? metadata.annotations : undefined;
  const raw = annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isJsonMap(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** additionsAndChanges: what turns `current` into `modified`, ignoring fields only `current` has. */
function additionsAndChanges(current: JsonMap, modified: JsonMap): JsonMap {
  const patch: JsonMap = {};
  for (const [key, want] of Object.entries(modified)) {
    if (want === undefined) continue;
    const have = current[key];
    if (!Object.prototype.hasOwnProperty.call(current, key) || have === undefined) {
      if (want !== null) patch[key] = want;
      continue;
    }
    if (isJsonMap(want) && isJsonMap(have)) {
      const sub = additionsAndChanges(have, want);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    } else if (!deepEqual(have, want)) {
      patch[key] = want;
    }
  }
  return patch;
}

/** deletions: fields `original` had that `modified` dropped, as nulls. */
function deletions(original: JsonMap, modified: JsonMap): JsonMap {
  const patch: JsonMap = {};
  for (const [key, was] of Object.entries(original)) {
    if (!Object.prototype.hasOwnProperty.call(modified, key) || modified[key] === undefined) {
      patch[key] = null;
      continue;
    }
    const now = modified[key];
    if (isJsonMap(was) && isJsonMap(now)) {
      const sub = deletions(was, now);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    }
  }
  return patch;
}

function mergeMaps(a: JsonMap, b: JsonMap): JsonMap {
  const out: JsonMap = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] = isJsonMap(prev) && isJsonMap(value) ? mergeMaps(prev, value) : value;
  }
  return out;
}

/**
 * threeWayMergePatch computes the JSON merge patch kubectl sends on apply:
 * the changes and additions from `current` to `modified`, plus a `null` for
 * every field `original` (the last-applied manifest; undefined if none) had
 * and `modified` no longer has. Lists are replaced whole. `{}` means the live
 * object already matches: the apply is "unchanged".
 */
export function threeWayMergePatch(opts: { original: JsonMap | undefined; modified: JsonMap; current: JsonMap }): JsonMap {
  const delta = additionsAndChanges(opts.current, opts.modified);
  const removed = opts.original ? deletions(opts.original, opts.modified) : {};
  return mergeMaps(removed, delta);
}
