/**
 * Where objects live in the key space and how the store names them in
 * messages, following Kubernetes (`instances.cloudlet.dev "web" not found`).
 */
import type { KindInfo } from '../kinds/registry.js';
import { ValidationError } from '../errors.js';
import { REGISTRY_PREFIX } from './key-space.js';
export { REGISTRY_PREFIX };

/** resourceName is `plural.group`, or `plural` for the core group, as Kubernetes messages write it. */
export function resourceName(kind: KindInfo): string {
  return kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
}

/** kindPrefix is the key prefix of a kind, narrowed to one namespace when given (namespaced kinds only). */
export function kindPrefix(kind: KindInfo, namespace?: string): string {
  const base = `${REGISTRY_PREFIX}${kind.group || 'core'}/${kind.plural}/`;
  return kind.namespaced && namespace ? `${base}${namespace}/` : base;
}

function checkSegment(field: string, value: string): void {
  if (value === '' || value === '.' || value === '..' || value.includes('/')) {
    throw new ValidationError(`${field}: Invalid value: "${value}": may not be empty, "." or "..", or contain "/"`, [
      { field, message: `may not be empty, "." or "..", or contain "/"`, type: 'FieldValueInvalid' },
    ]);
  }
}

/**
 * scopedNamespace returns the namespace an object of `kind` lives in: the
 * given one for namespaced kinds (ValidationError if missing), undefined for
 * cluster-scoped kinds (a namespace given for them is ignored).
 */
export function scopedNamespace(kind: KindInfo, namespace: string | undefined): string | undefined {
  if (!kind.namespaced) return undefined;
  if (namespace === undefined || namespace === '') {
    throw new ValidationError('metadata.namespace: Required value', [
      { field: 'metadata.namespace', message: 'Required value', type: 'FieldValueRequired' },
    ]);
  }
  checkSegment('metadata.namespace', namespace);
  return namespace;
}

/** objectKey is `/cloudlet/registry/<group|core>/<plural>/[<namespace>/]<name>`. */
export function objectKey(kind: KindInfo, name: string, namespace?: string): string {
  checkSegment('metadata.name', name);
  const ns = scopedNamespace(kind, namespace);
  return `${kindPrefix(kind, ns)}${name}`;
}

/** nameFromKey recovers namespace and name from an object key of `kind`. */
export function nameFromKey(kind: KindInfo, key: string): { name: string; namespace?: string } {
  const rest = key.slice(kindPrefix(kind).length);
  const slash = rest.indexOf('/');
  if (kind.namespaced && slash >= 0) return { namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
  return { name: rest };
}
