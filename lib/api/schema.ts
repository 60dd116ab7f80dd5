/**
 * SchemaValidator: every kind's CRD schema compiled once with ajv into a
 * validator that also applies the schema's defaults (structural defaulting).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { InternalError, RequestEntityTooLargeError, ValidationError, type FieldCause } from '../errors.js';
import type { KindInfo } from '../kinds/registry.js';
import type { KubeObject } from '../store/types.js';
import { validateMetadata } from './metadata.js';
import { fieldRuleCauses } from './field-rules.js';
import { causeOf, formatCauses } from './schema-errors.js';
import { findUnknownFields, translateSchema } from './schema-translate.js';

/** FieldValidation is the `fieldValidation` query parameter: what to do with unknown fields. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** MAX_OBJECT_BYTES is the largest object the API stores (1 MiB, like Kubernetes). */
export const MAX_OBJECT_BYTES = 1024 * 1024;

/**
 * ValidateOptions: how unknown fields are treated (Strict rejects them; Warn
 * and Ignore drop them), and the stored object an update replaces (`previous`:
 * field rules skip values it already had, see field-rules.ts).
 */
export interface ValidateOptions {
  fieldValidation?: FieldValidation;
  previous?: KubeObject;
}

/** ValidateResult: warnings for dropped unknown fields (fieldValidation=Warn). */
export interface ValidateResult {
  warnings: string[];
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, validateFormats: true });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', { type: 'string', validate: (s: string) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) });
  return ajv;
}

/** qualifiedKind is `Instance.cloudlet.dev` (or `Event` for core), as Kubernetes names a kind in messages. */
export function qualifiedKind(kind: KindInfo): string {
  return kind.group ? `${kind.kind}.${kind.group}` : kind.kind;
}

/** invalidError builds the ValidationError Kubernetes would return for `name` of `kind`. */
export function invalidError(kind: KindInfo, name: string, causes: FieldCause[]): ValidationError {
  return new ValidationError(`${qualifiedKind(kind)} "${name}" is invalid: ${formatCauses(causes)}`, causes);
}

/** SchemaValidator validates and defaults objects of every kind it was built with. */
export class SchemaValidator {
  private readonly compiled = new Map<KindInfo, ValidateFunction>();

  /** constructor compiles the schema of every kind; a schema ajv cannot compile is an InternalError. */
  constructor(kinds: readonly KindInfo[]) {
    const ajv = newAjv();
    for (const kind of kinds) {
      try {
        this.compiled.set(kind, ajv.compile(translateSchema(kind.schema)));
      } catch (err) {
        throw new InternalError(`cannot compile the schema of ${qualifiedKind(kind)}`, { cause: err });
      }
    }
  }

  /**
   * validate checks `obj` (in place: defaults are applied, and unknown fields
   * are removed under Warn/Ignore) against its kind's schema, metadata rules
   * and field rules (paths, see field-rules.ts).
   * Throws ValidationError naming every bad field, or RequestEntityTooLargeError
   * over 1 MiB. Returns warnings for dropped unknown fields under Warn.
   */
  validate(kind: KindInfo, obj: KubeObject, opts: ValidateOptions = {}): ValidateResult {
    const mode = opts.fieldValidation ?? 'Strict';
    const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
    const causes: FieldCause[] = validateMetadata(kind, obj.metadata);
    const unknown = findUnknownFields(kind.schema, obj, { prune: mode !== 'Strict' });
    const warnings: string[] = [];
    if (mode === 'Strict') {
      for (const field of unknown) causes.push({ field, type: 'FieldValueUnknown', message: 'Unknown field' });
    } else if (mode === 'Warn') {
      for (const field of unknown) warnings.push(`unknown field "${field}"`);
    }
    const fn = this.compiled.get(kind);
    if (!fn) throw new InternalError(`no schema compiled for ${qualifiedKind(kind)}`);
    if (!fn(obj)) {
      for (const e of fn.errors ?? []) {
        // the unknown-field walk already reported these, with the same paths
        if (e.keyword === 'additionalProperties') continue;
        causes.push(causeOf(e, obj));
      }
    }
    causes.push(...fieldRuleCauses(kind, obj, opts.previous));
    if (causes.length > 0) throw invalidError(kind, name, dedupe(causes));
    const size = Buffer.byteLength(JSON.stringify(obj));
    if (size > MAX_OBJECT_BYTES) {
      throw new RequestEntityTooLargeError(`${qualifiedKind(kind)} "${name}" is too large: ${size} bytes, at most ${MAX_OBJECT_BYTES}`);
    }
    return { warnings };
  }
}

function dedupe(causes: FieldCause[]): FieldCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const key = `${c.field}\u0000${c.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
