/**
 * Patches as the API accepts them: RFC 7386 JSON merge patch and RFC 6902
 * JSON patch. Server-side apply lives in apply.ts. Patches never change
 * their inputs; they return new values. No patch may name `__proto__`,
 * `constructor` or `prototype` (as a pointer segment or as a key of a value
 * it writes): those reach the prototype chain, so they are refused with a
 * BadRequestError naming the path.
 */
import { BadRequestError, ValidationError } from '../errors.js';
import { deepEqual, findKey, isJsonMap } from '../json.js';

/** FORBIDDEN_KEYS are the keys no patch or applied configuration may name: they lead to the prototype chain. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * refuseForbiddenKeys throws BadRequestError when `value` holds one of
 * FORBIDDEN_KEYS at any depth; `what` says whose value it is in the message
 * ("the merge patch", "JSON patch operation 2's value").
 */
export function refuseForbiddenKeys(value: unknown, what: string): void {
  const at = findKey(value, FORBIDDEN_KEYS);
  if (at !== undefined) {
    const key = at.slice(at.lastIndexOf('.') + 1);
    throw new BadRequestError(`${what} sets the field "${at}": the key "${key}" is not allowed`);
  }
}

/** deepClone copies a JSON value. */
export function deepClone<T>(v: T): T {
  return structuredClone(v);
}

/** mergePatch applies an RFC 7386 merge patch: objects merge, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  refuseForbiddenKeys(patch, 'the merge patch');
  return merge(target, patch);
}

function merge(target: unknown, patch: unknown): unknown {
  if (!isJsonMap(patch)) return deepClone(patch);
  const out: Record<string, unknown> = isJsonMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(Object.hasOwn(out, k) ? out[k] : undefined, v);
  }
  return out;
}

/** JsonPatchOp is one RFC 6902 operation. */
export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(ptr: string, what: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw new BadRequestError(`invalid JSON patch ${what} "${ptr}": a JSON pointer must start with "/"`);
  return ptr
    .slice(1)
    .split('/')
    .map((raw) => {
      if (/~[^01]|~$/.test(raw)) throw new BadRequestError(`invalid JSON patch ${what} "${ptr}": "~" must be followed by 0 or 1`);
      const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (FORBIDDEN_KEYS.has(seg)) throw new BadRequestError(`invalid JSON patch ${what} "${ptr}": the segment "${seg}" is not allowed`);
      return seg;
    });
}

function arrayIndex(arr: unknown[], seg: string, forAdd: boolean, ptr: string): number {
  if (forAdd && seg === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(seg)) throw new ValidationError(`the JSON patch path "${ptr}" has a bad array index "${seg}"`);
  const i = Number(seg);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new ValidationError(`the JSON patch path "${ptr}" is out of range`);
  return i;
}

/** the container that holds the last segment of `path`, which must exist */
function parentOf(doc: unknown, segs: string[], ptr: string): unknown {
  let cur = doc;
  for (const seg of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, seg, false, ptr)];
    else if (isJsonMap(cur) && Object.hasOwn(cur, seg)) cur = cur[seg];
    else throw new ValidationError(`the JSON patch path "${ptr}" does not exist`);
  }
  return cur;
}

function getAt(doc: unknown, ptr: string): unknown {
  const segs = parsePointer(ptr, 'path');
  if (segs.length === 0) return doc;
  const parent = parentOf(doc, segs, ptr);
  const last = segs[segs.length - 1] as string;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false, ptr)];
  if (isJsonMap(parent) && Object.hasOwn(parent, last)) return parent[last];
  throw new ValidationError(`the JSON patch path "${ptr}" does not exist`);
}

function removeAt(doc: unknown, ptr: string): unknown {
  const segs = parsePointer(ptr, 'path');
  if (segs.length === 0) throw new ValidationError('a JSON patch cannot remove the whole document');
  const parent = parentOf(doc, segs, ptr);
  const last = segs[segs.length - 1] as string;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false, ptr), 1)[0];
  if (isJsonMap(parent) && Object.hasOwn(parent, last)) {
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw new ValidationError(`the JSON patch path "${ptr}" does not exist`);
}

function addAt(doc: unknown, ptr: string, value: unknown, replace: boolean): unknown {
  const segs = parsePointer(ptr, 'path');
  if (segs.length === 0) return value;
  const parent = parentOf(doc, segs, ptr);
  const last = segs[segs.length - 1] as string;
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, !replace, ptr);
    parent.splice(i, replace ? 1 : 0, value);
  } else if (isJsonMap(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw new ValidationError(`the JSON patch path "${ptr}" does not exist`);
    parent[last] = value;
  } else {
    throw new ValidationError(`the JSON patch path "${ptr}" does not exist`);
  }
  return doc;
}

function checkOps(patch: unknown): JsonPatchOp[] {
  if (!Array.isArray(patch)) throw new BadRequestError('a JSON patch must be an array of operations');
  return patch.map((raw: unknown, i) => {
    if (!isJsonMap(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new BadRequestError(`JSON patch operation ${i} needs string "op" and "path"`);
    }
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(raw.op)) {
      throw new BadRequestError(`JSON patch operation ${i} has an unknown op "${raw.op}"`);
    }
    if ((raw.op === 'move' || raw.op === 'copy') && typeof raw.from !== 'string') {
      throw new BadRequestError(`JSON patch operation ${i} (${raw.op}) needs "from"`);
    }
    if ((raw.op === 'add' || raw.op === 'replace' || raw.op === 'test') && !('value' in raw)) {
      throw new BadRequestError(`JSON patch operation ${i} (${raw.op}) needs "value"`);
    }
    // Pointers are checked before anything is applied, so a refused segment fails the whole patch as a 400.
    parsePointer(raw.path, 'path');
    if (typeof raw.from === 'string') parsePointer(raw.from, 'from');
    if (raw.op === 'add' || raw.op === 'replace') refuseForbiddenKeys(raw.value, `JSON patch operation ${i} (${raw.op} "${raw.path}")`);
    return raw as unknown as JsonPatchOp;
  });
}

/**
 * jsonPatch applies an RFC 6902 patch to a copy of `doc`. A malformed patch is
 * a BadRequestError; a path that does not exist or a failed `test` is a
 * ValidationError (422, as Kubernetes answers).
 */
export function jsonPatch(doc: unknown, patch: unknown): unknown {
  let out = deepClone(doc);
  for (const op of checkOps(patch)) {
    switch (op.op) {
      case 'add':
        out = addAt(out, op.path, deepClone(op.value), false);
        break;
      case 'replace':
        out = addAt(out, op.path, deepClone(op.value), true);
        break;
      case 'remove':
        removeAt(out, op.path);
        break;
      case 'move': {
        const from = op.from as string;
        if (op.path.startsWith(`${from}/`)) throw new ValidationError(`cannot move "${from}" into its own child "${op.path}"`);
        const v = removeAt(out, from);
        out = addAt(out, op.path, v, false);
        break;
      }
      case 'copy':
        out = addAt(out, op.path, deepClone(getAt(out, op.from as string)), false);
        break;
      case 'test':
        if (!deepEqual(getAt(out, op.path), op.value)) {
          throw new ValidationError(`the JSON patch test failed: the value at "${op.path}" is not ${JSON.stringify(op.value)}`);
        }
        break;
    }
  }
  return out;
}
