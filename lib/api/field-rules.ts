/**
 * FieldRules are the checks a structural CRD schema cannot express: fields
 * that name a path inside an instance or on a member (lib/kinds/path-rules.ts).
 * They run after the schema, in the same validation, so kubectl and
 * `cloudlet apply` get the same 422 naming the field and nothing is written.
 *
 * Rules ratchet: on an update, a field whose value is unchanged from the
 * stored object is not checked again, so objects stored before a rule
 * existed can still get status writes, lose their finalizers and be deleted.
 */
import type { FieldCause } from '../errors.js';
import type { KindInfo } from '../kinds/registry.js';
import { containerPathProblem, fileImagePath, hostPathProblem } from '../kinds/path-rules.js';
import type { KubeObject } from '../store/types.js';

/** FieldValue is one checked field: its path (`spec.volumes[0].path`) and its value. */
interface FieldValue {
  field: string;
  value: unknown;
}

type Rule = (value: string) => string | undefined;

interface KindRules {
  /** fields lists the values to check in one object */
  fields(obj: KubeObject): FieldValue[];
  rule(field: string): Rule | undefined;
}

function specOf(obj: KubeObject | undefined): Record<string, unknown> {
  const spec = (obj as { spec?: unknown } | undefined)?.spec;
  return typeof spec === 'object' && spec !== null && !Array.isArray(spec) ? (spec as Record<string, unknown>) : {};
}

const imageRule: Rule = (value) => (value.startsWith('file://') ? fileImagePath(value).problem : undefined);

const INSTANCE: KindRules = {
  fields(obj) {
    const spec = specOf(obj);
    const out: FieldValue[] = [{ field: 'spec.image', value: spec.image }];
    const volumes = Array.isArray(spec.volumes) ? (spec.volumes as unknown[]) : [];
    volumes.forEach((v, i) => out.push({ field: `spec.volumes[${i}].path`, value: (v as { path?: unknown } | null)?.path }));
    return out;
  },
  rule(field) {
    if (field === 'spec.image') return imageRule;
    return /^spec\.volumes\[\d+\]\.path$/.test(field) ? containerPathProblem : undefined;
  },
};

/** POOL_CONFIG_PATHS are the driver settings that name a file on the member (ceph: ceph.conf and the keyring). */
const POOL_CONFIG_PATHS = ['conf', 'cluster', 'keyring'] as const;

const STORAGE_POOL: KindRules = {
  fields(obj) {
    const spec = specOf(obj);
    const config = typeof spec.config === 'object' && spec.config !== null ? (spec.config as Record<string, unknown>) : {};
    return [
      { field: 'spec.source', value: spec.source },
      ...POOL_CONFIG_PATHS.map((k) => ({ field: `spec.config.${k}`, value: config[k] })),
    ];
  },
  rule: (field) => (field === 'spec.source' || field.startsWith('spec.config.') ? hostPathProblem : undefined),
};

const RULES: Record<string, KindRules> = { 'cloudlet.dev/Instance': INSTANCE, 'cloudlet.dev/StoragePool': STORAGE_POOL };

/**
 * fieldRuleCauses returns a FieldValueInvalid cause for every path field of
 * `obj` that breaks its rule, skipping values equal to the same field of
 * `previous` (the stored object on an update). Kinds without rules give none.
 */
export function fieldRuleCauses(kind: KindInfo, obj: KubeObject, previous?: KubeObject): FieldCause[] {
  const rules = RULES[`${kind.group}/${kind.kind}`];
  if (!rules) return [];
  const before = new Map((previous ? rules.fields(previous) : []).map((f) => [f.field, f.value] as const));
  const causes: FieldCause[] = [];
  for (const { field, value } of rules.fields(obj)) {
    // Wrong types are the schema's to report.
    if (typeof value !== 'string' || before.get(field) === value) continue;
    const problem = rules.rule(field)?.(value);
    if (problem) causes.push({ field, type: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${problem}` });
  }
  return causes;
}
