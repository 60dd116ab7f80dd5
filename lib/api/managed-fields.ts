/**
 * Field sets (the FieldsV1 format of metadata.managedFields): which fields
 * of an object a field manager owns. Lists are atomic (one leaf), objects
 * are owned field by field. A field set is a nested object whose keys are
 * `f:<name>`; a leaf is `{}`.
 */
import type { KubeObject, ManagedFieldsEntry } from '../store/types.js';
import { deepEqual, isJsonMap } from '../json.js';

/** FieldSet is a FieldsV1 value. */
export type FieldSet = { [key: string]: FieldSet };

/** FieldPath is a path of field names from the object root. */
export type FieldPath = string[];

function addLeaves(v: unknown, into: FieldSet): void {
  for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
    const key = `f:${k}`;
    if (isJsonMap(child) && Object.keys(child).length > 0) {
      const sub: FieldSet = into[key] ?? {};
      addLeaves(child, sub);
      into[key] = sub;
    } else {
      into[key] = {};
    }
  }
}

/**
 * fieldSetOf gives the fields an object sets: everything but apiVersion, kind
 * and status, and of metadata only labels, annotations and finalizers.
 */
export function fieldSetOf(obj: Record<string, unknown>, opts: { status?: boolean } = {}): FieldSet {
  const out: FieldSet = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !opts.status) continue;
    if (k !== 'status' && opts.status) continue;
    if (k === 'metadata') {
      if (!isJsonMap(v)) continue;
      const meta: FieldSet = {};
      for (const mk of ['labels', 'annotations'] as const) {
        if (isJsonMap(v[mk]) && Object.keys(v[mk]).length > 0) addLeaves({ [mk]: v[mk] }, meta);
      }
      if (Array.isArray(v.finalizers) && v.finalizers.length > 0) meta['f:finalizers'] = {};
      if (Object.keys(meta).length > 0) out['f:metadata'] = meta;
      continue;
    }
    addLeaves({ [k]: v }, out);
  }
  return out;
}

/** leavesOf lists the leaf paths of a field set (names without the `f:` prefix). */
export function leavesOf(fs: FieldSet, prefix: FieldPath = []): FieldPath[] {
  const out: FieldPath[] = [];
  for (const [k, sub] of Object.entries(fs)) {
    if (!k.startsWith('f:')) continue;
    const p = [...prefix, k.slice(2)];
    if (Object.keys(sub).length === 0) out.push(p);
    else out.push(...leavesOf(sub, p));
  }
  return out;
}

/** fieldSetFromLeaves builds a field set from leaf paths. */
export function fieldSetFromLeaves(leaves: readonly FieldPath[]): FieldSet {
  const out: FieldSet = {};
  for (const p of leaves) {
    let cur = out;
    for (const name of p) {
      const key = `f:${name}`;
      cur[key] ??= {};
      cur = cur[key] as FieldSet;
    }
  }
  return out;
}

/** overlaps tells whether two paths are equal or one is a prefix of the other (atomic ownership). */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** valueAt reads the value at a field path, or undefined. */
export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur = obj;
  for (const name of path) {
    // own fields only: a path naming `constructor` or `__proto__` must not reach the prototype
    if (!isJsonMap(cur) || !Object.hasOwn(cur, name)) return undefined;
    cur = cur[name];
  }
  return cur;
}

/** removeAt deletes the field at `path` and then any parent objects it left empty. */
export function removeAt(obj: Record<string, unknown>, path: FieldPath): void {
  const parents: Array<Record<string, unknown>> = [];
  let cur: unknown = obj;
  for (const name of path.slice(0, -1)) {
    if (!isJsonMap(cur) || !Object.hasOwn(cur, name)) return;
    parents.push(cur);
    cur = cur[name];
  }
  const last = path[path.length - 1];
  if (!isJsonMap(cur) || last === undefined || !Object.hasOwn(cur, last)) return;
  delete cur[last];
  for (let i = parents.length - 1; i >= 0; i--) {
    const name = path[i] as string;
    const child = parents[i]?.[name];
    if (isJsonMap(child) && Object.keys(child).length === 0 && i > 0) delete parents[i]?.[name];
    else break;
  }
}

/** changedLeaves lists the leaves of `after` whose value differs from `before` (new or changed fields). */
export function changedLeaves(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
  opts: { status?: boolean } = {},
): FieldPath[] {
  return leavesOf(fieldSetOf(after, opts)).filter((p) => !deepEqual(valueAt(before, p), valueAt(after, p)));
}

/**
 * recordUpdate returns managedFields after `manager` wrote `after` over
 * `before` with a non-apply verb (create, update, merge or JSON patch): the
 * changed fields move to the manager's Update entry, leave every other entry,
 * and fields that no longer exist leave every entry.
 */
export function recordUpdate(opts: {
  before: KubeObject | undefined;
  after: KubeObject;
  manager: string;
  time: string;
  subresource?: 'status';
}): ManagedFieldsEntry[] {
  const status = opts.subresource === 'status';
  if (opts.before === undefined) {
    // a create: the writer owns every field it set (the hot path, kept cheap)
    const fieldsV1 = fieldSetOf(opts.after as Record<string, unknown>, { status });
    if (Object.keys(fieldsV1).length === 0) return [];
    return [updateEntry(opts, fieldsV1)];
  }
  const changed = changedLeaves(opts.before as Record<string, unknown> | undefined, opts.after as Record<string, unknown>, { status });
  const existing = opts.before?.metadata.managedFields ?? [];
  const entries: ManagedFieldsEntry[] = [];
  let mine: FieldPath[] = [];
  for (const e of existing) {
    const leaves = leavesOf(e.fieldsV1 as FieldSet).filter(
      (p) => valueAt(opts.after, p) !== undefined && !changed.some((c) => overlaps(c, p) && c.length <= p.length),
    );
    if (e.manager === opts.manager && e.operation === 'Update' && e.subresource === opts.subresource) {
      mine = leaves;
      continue;
    }
    if (leaves.length > 0) entries.push({ ...e, fieldsV1: fieldSetFromLeaves(leaves) });
  }
  const all = [...mine, ...changed];
  if (all.length > 0) {
    entries.push(updateEntry(opts, fieldSetFromLeaves(all)));
  }
  return entries;
}

/** updateEntry is the writer's Update entry owning `fieldsV1` (on the status subresource when the write was). */
function updateEntry(
  opts: { after: KubeObject; manager: string; time: string; subresource?: 'status' },
  fieldsV1: FieldSet,
): ManagedFieldsEntry {
  const entry: ManagedFieldsEntry = {
    manager: opts.manager,
    operation: 'Update',
    apiVersion: opts.after.apiVersion,
    time: opts.time,
    fieldsType: 'FieldsV1',
    fieldsV1,
  };
  if (opts.subresource) entry.subresource = opts.subresource;
  return entry;
}
