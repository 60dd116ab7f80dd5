/**
 * Validation of object metadata (names, namespaces, labels, annotations),
 * which CRD schemas leave to the API server.
 */
import type { FieldCause } from '../errors.js';
import type { KindInfo } from '../kinds/registry.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** LABEL_NAMED_KINDS are kinds whose names become hostnames or interface names, so must be DNS labels. */
export const LABEL_NAMED_KINDS: ReadonlySet<string> = new Set(['Instance', 'Member', 'Network']);

/** isDnsLabel tells whether `s` is an RFC 1123 label (≤ 63 chars). */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

/** isDnsSubdomain tells whether `s` is an RFC 1123 subdomain (≤ 253 chars). */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

function invalid(field: string, value: unknown, detail: string): FieldCause {
  return { field, type: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}` };
}

function checkName(kind: KindInfo, name: unknown, out: FieldCause[]): void {
  if (typeof name !== 'string' || name === '') {
    out.push({ field: 'metadata.name', type: 'FieldValueRequired', message: 'Required value: name or generateName is required' });
    return;
  }
  if (LABEL_NAMED_KINDS.has(kind.kind) && kind.group !== '') {
    if (name.length > 63) out.push(invalid('metadata.name', name, 'must be no more than 63 characters'));
    else if (!DNS_LABEL.test(name)) out.push(invalid('metadata.name', name, LABEL_MSG));
  } else if (name.length > 253) {
    out.push(invalid('metadata.name', name, 'must be no more than 253 characters'));
  } else if (!DNS_SUBDOMAIN.test(name)) {
    out.push(invalid('metadata.name', name, SUBDOMAIN_MSG));
  }
}

function checkKey(field: string, key: string, out: FieldCause[]): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && !isDnsSubdomain(prefix)) out.push(invalid(field, key, 'prefix part ' + SUBDOMAIN_MSG));
  if (name.length === 0 || name.length > 63 || !QUALIFIED.test(name)) {
    out.push(
      invalid(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)",
      ),
    );
  }
}

function checkStringMap(field: string, value: unknown, isLabels: boolean, out: FieldCause[]): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.push({ field, type: 'FieldValueTypeInvalid', message: `Invalid value: ${JSON.stringify(value)}: must be a map of strings` });
    return;
  }
  let total = 0;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    checkKey(field, k, out);
    if (typeof v !== 'string') {
      out.push({ field: `${field}.${k}`, type: 'FieldValueTypeInvalid', message: `Invalid value: ${JSON.stringify(v)}: must be a string` });
      continue;
    }
    total += k.length + v.length;
    if (isLabels && (v.length > 63 || !LABEL_VALUE.test(v))) {
      out.push(
        invalid(
          field,
          v,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)",
        ),
      );
    }
  }
  if (!isLabels && total > 256 * 1024) out.push({ field, type: 'FieldValueTooLong', message: 'Too long: must have at most 262144 bytes' });
}

/**
 * validateMetadata returns the causes of every problem in `meta` for an
 * object of `kind`: name (DNS subdomain; DNS label for Instance, Member and
 * Network), namespace (a DNS label, required iff the kind is namespaced),
 * labels and annotations (maps of strings with qualified keys).
 */
export function validateMetadata(kind: KindInfo, meta: unknown): FieldCause[] {
  const out: FieldCause[] = [];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    return [{ field: 'metadata', type: 'FieldValueRequired', message: 'Required value' }];
  }
  const m = meta as Record<string, unknown>;
  checkName(kind, m.name, out);
  if (kind.namespaced) {
    if (typeof m.namespace !== 'string' || m.namespace === '') {
      out.push({ field: 'metadata.namespace', type: 'FieldValueRequired', message: 'Required value' });
    } else if (!isDnsLabel(m.namespace)) {
      out.push(invalid('metadata.namespace', m.namespace, LABEL_MSG));
    }
  } else if (m.namespace !== undefined && m.namespace !== '') {
    out.push({ field: 'metadata.namespace', type: 'FieldValueForbidden', message: 'Forbidden: not allowed on this type' });
  }
  checkStringMap('metadata.labels', m.labels, true, out);
  checkStringMap('metadata.annotations', m.annotations, false, out);
  if (m.finalizers !== undefined && (!Array.isArray(m.finalizers) || m.finalizers.some((f) => typeof f !== 'string'))) {
    out.push({ field: 'metadata.finalizers', type: 'FieldValueTypeInvalid', message: 'Invalid value: must be a list of strings' });
  }
  return out;
}
