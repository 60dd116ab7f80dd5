/**
 * Server-side apply (`application/apply-patch+yaml`): the applied
 * configuration is merged into the live object and its fields are owned by
 * the applying field manager; a field another manager owns with a different
 * value is a conflict unless forced.
 */
import { parse as parseYaml } from 'yaml';
import { BadRequestError, ConflictError, type FieldCause } from '../errors.js';
import type { KubeObject, ManagedFieldsEntry } from '../store/types.js';
import { fieldSetFromLeaves, fieldSetOf, leavesOf, overlaps, removeAt, valueAt, type FieldPath, type FieldSet } from './managed-fields.js';
import { deepClone, refuseForbiddenKeys } from './patch.js';
import { deepEqual, isJsonMap } from '../json.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** parseApplyBody reads an apply patch body, JSON or YAML, into an object; BadRequestError otherwise. */
export function parseApplyBody(text: string): KubeObject {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new BadRequestError(`error decoding YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isJsonMap(doc)) throw new BadRequestError('an apply patch must be an object with apiVersion, kind and metadata');
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
    throw new BadRequestError('an apply patch must set apiVersion and kind');
  }
  if (!isJsonMap(doc.metadata)) throw new BadRequestError('an apply patch must set metadata.name');
  refuseForbiddenKeys(doc, 'the apply patch');
  return doc as KubeObject;
}

/** mergeApplied merges `applied` into `live`: objects field by field, lists and scalars replaced. */
function mergeApplied(live: unknown, applied: unknown): unknown {
  if (!isJsonMap(applied) || !isJsonMap(live)) return deepClone(applied);
  const out: Record<string, unknown> = { ...live };
  for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(Object.hasOwn(out, k) ? out[k] : undefined, v);
  return out;
}

/** ApplyOptions: who applies, whether conflicts are overridden, and the time stamped into managedFields. */
export interface ApplyOptions {
  manager: string;
  force: boolean;
  time: string;
  subresource?: 'status';
}

function isMine(e: ManagedFieldsEntry, opts: ApplyOptions): boolean {
  return e.manager === opts.manager && e.operation === 'Apply' && e.subresource === opts.subresource;
}

/**
 * serverSideApply returns the object that results from applying `applied`
 * over `live` (undefined when the object does not exist yet), with
 * managedFields updated. Throws ConflictError with FieldManagerConflict
 * causes when another manager owns a field whose value would change and
 * `force` is false. Neither input is changed.
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): KubeObject {
  const status = opts.subresource === 'status';
  const appliedLeaves = leavesOf(fieldSetOf(applied, { status }));
  const entry: ManagedFieldsEntry = {
    manager: opts.manager,
    operation: 'Apply',
    apiVersion: applied.apiVersion,
    time: opts.time,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldSetFromLeaves(appliedLeaves),
  };
  if (opts.subresource) entry.subresource = opts.subresource;
  if (!live) {
    const created = deepClone(applied);
    created.metadata = { ...created.metadata, managedFields: [entry] };
    return created;
  }
  const entries = live.metadata.managedFields ?? [];
  const conflicts: FieldCause[] = [];
  const others: Array<{ e: ManagedFieldsEntry; leaves: FieldPath[] }> = [];
  let previous: FieldPath[] = [];
  for (const e of entries) {
    const leaves = leavesOf(e.fieldsV1 as FieldSet);
    if (isMine(e, opts)) {
      previous = leaves;
      continue;
    }
    const kept: FieldPath[] = [];
    for (const p of leaves) {
      const hit = appliedLeaves.find((a) => overlaps(a, p));
      const shortest = hit && (hit.length <= p.length ? hit : p);
      const differs = hit !== undefined && shortest !== undefined && !deepEqual(valueAt(live, shortest), valueAt(applied, shortest));
      if (differs && shortest && !(shortest[0] === 'metadata' && shortest[2] === LAST_APPLIED)) {
        if (opts.force) continue; // ownership moves to the applier
        conflicts.push({
          type: 'FieldManagerConflict',
          field: `.${shortest.join('.')}`,
          message: `conflict with "${e.manager}"${e.operation === 'Update' ? ' using ' + e.apiVersion : ''}`,
        });
      }
      kept.push(p);
    }
    others.push({ e, leaves: kept });
  }
  if (conflicts.length > 0) {
    const list = conflicts.map((c) => `- ${c.message}: ${c.field}`).join('\n');
    throw new ConflictError(`Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${list}`, {
      causes: conflicts,
    });
  }
  let result = deepClone(live) as Record<string, unknown>;
  // fields this manager applied before and no longer applies are removed, unless someone else owns them
  for (const p of previous) {
    if (appliedLeaves.some((a) => overlaps(a, p))) continue;
    if (others.some((o) => o.leaves.some((q) => overlaps(q, p)))) continue;
    removeAt(result, p);
  }
  const appliedBody: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(applied)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    if (status ? k === 'status' : k !== 'status') appliedBody[k] = v;
  }
  result = mergeApplied(result, appliedBody) as Record<string, unknown>;
  const meta = { ...(result.metadata as KubeObject['metadata']) };
  const am = applied.metadata as unknown as Record<string, unknown>;
  for (const key of ['labels', 'annotations'] as const) {
    if (isJsonMap(am[key])) meta[key] = { ...(meta[key] ?? {}), ...(am[key] as Record<string, string>) };
  }
  if (Array.isArray(am.finalizers)) meta.finalizers = am.finalizers as string[];
  if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
  if (meta.annotations && Object.keys(meta.annotations).length === 0) delete meta.annotations;
  const nextEntries = others.filter((o) => o.leaves.length > 0).map((o) => ({ ...o.e, fieldsV1: fieldSetFromLeaves(o.leaves) }));
  meta.managedFields = [...nextEntries, entry];
  result.metadata = meta;
  return result as KubeObject;
}
