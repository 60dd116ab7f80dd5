/**
 * Turns ajv errors into Kubernetes-style field causes
 * (`spec.memory: Invalid value: "12XB": spec.memory in body should match '…'`).
 */
import type { ErrorObject } from 'ajv';
import type { FieldCause } from '../errors.js';

/** fieldPath turns a JSON pointer (`/spec/nics/0/network`) into a Kubernetes field path (`spec.nics[0].network`). */
export function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^[0-9]+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function show(v: unknown): string {
  return v === undefined ? 'null' : JSON.stringify(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur = root;
  for (const raw of pointer.split('/').slice(1)) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

/** causeOf renders one ajv error against the validated object `root`. */
export function causeOf(err: ErrorObject, root: unknown): FieldCause {
  const path = fieldPath(err.instancePath);
  const value = valueAt(root, err.instancePath);
  const p = err.params as Record<string, unknown>;
  const invalid = (detail: string): FieldCause => ({
    field: path,
    type: 'FieldValueInvalid',
    message: `Invalid value: ${show(value)}: ${path} in body ${detail}`,
  });
  switch (err.keyword) {
    case 'required': {
      const field = path === '' ? String(p.missingProperty) : `${path}.${String(p.missingProperty)}`;
      return { field, type: 'FieldValueRequired', message: 'Required value' };
    }
    case 'enum': {
      const allowed = (Array.isArray(p.allowedValues) ? p.allowedValues : []).map((v: unknown) => show(v)).join(', ');
      return { field: path, type: 'FieldValueNotSupported', message: `Unsupported value: ${show(value)}: supported values: ${allowed}` };
    }
    case 'type': {
      const want = Array.isArray(p.type) ? (p.type as unknown[]).join('-or-') : String(p.type);
      return {
        field: path,
        type: 'FieldValueTypeInvalid',
        message: `Invalid value: "${typeName(value)}": ${path} in body must be of type ${want}: "${typeName(value)}"`,
      };
    }
    case 'pattern':
      return invalid(`should match '${String(p.pattern)}'`);
    case 'minimum':
      return invalid(`should be greater than or equal to ${String(p.limit)}`);
    case 'exclusiveMinimum':
      return invalid(`should be greater than ${String(p.limit)}`);
    case 'maximum':
      return invalid(`should be less than or equal to ${String(p.limit)}`);
    case 'exclusiveMaximum':
      return invalid(`should be less than ${String(p.limit)}`);
    case 'minLength':
      return invalid(`should be at least ${String(p.limit)} chars long`);
    case 'maxLength':
      return { field: path, type: 'FieldValueTooLong', message: `Too long: may not be longer than ${String(p.limit)}` };
    case 'maxItems':
      return {
        field: path,
        type: 'FieldValueTooMany',
        message: `Too many: ${Array.isArray(value) ? value.length : '?'}: must have at most ${String(p.limit)} items`,
      };
    case 'minItems':
      return invalid(`should have at least ${String(p.limit)} items`);
    case 'format':
      return invalid(`must be of type ${String(p.format)}`);
    case 'additionalProperties': {
      const field = path === '' ? String(p.additionalProperty) : `${path}.${String(p.additionalProperty)}`;
      return { field, type: 'FieldValueUnknown', message: 'Unknown field' };
    }
    default:
      return invalid(err.message ?? `fails ${err.keyword}`);
  }
}

/** formatCauses renders causes the way Kubernetes joins them into an Invalid message. */
export function formatCauses(causes: FieldCause[]): string {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  return parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
}
