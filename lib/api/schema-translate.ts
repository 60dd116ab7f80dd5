/**
 * Translation of a CRD's OpenAPI v3 structural schema into a JSON Schema
 * that ajv compiles: the Kubernetes extensions become plain keywords, and
 * objects that declare properties reject unknown fields.
 */
import type { JsonSchema } from '../kinds/registry.js';
import { isJsonMap } from '../json.js';

/** KNOWN_FORMATS are the `format` values the validator checks; others are dropped. */
export const KNOWN_FORMATS = ['int32', 'int64', 'date-time', 'float', 'double', 'byte'] as const;

function isSchema(v: unknown): v is JsonSchema {
  return isJsonMap(v);
}

/**
 * translateSchema returns a new JSON Schema (the input is not changed):
 * `x-kubernetes-int-or-string` → `type: [integer, string]`; boolean
 * `exclusiveMinimum/Maximum` (OpenAPI 3.0) → numeric draft-07 form; `nullable`
 * adds `null` to the type; unknown formats and `x-kubernetes-*` keywords are
 * removed; `additionalProperties: false` is added where `properties` are
 * declared and neither `additionalProperties` nor
 * `x-kubernetes-preserve-unknown-fields` allows extras.
 */
export function translateSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable' || key === 'example' || key === 'externalDocs') continue;
    if (key === 'properties' && isSchema(value)) {
      const props: JsonSchema = {};
      for (const [name, sub] of Object.entries(value)) props[name] = isSchema(sub) ? translateSchema(sub) : sub;
      out.properties = props;
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isSchema(value)) {
      out[key] = translateSchema(value);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((s: unknown) => (isSchema(s) ? translateSchema(s) : s));
    } else if (key === 'format') {
      if ((KNOWN_FORMATS as readonly unknown[]).includes(value)) out.format = value;
    } else if (key === 'exclusiveMinimum' || key === 'exclusiveMaximum') {
      if (typeof value === 'number') out[key] = value;
    } else {
      out[key] = value;
    }
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    out.type = ['integer', 'string'];
  }
  if (schema.exclusiveMinimum === true && typeof schema.minimum === 'number') {
    out.exclusiveMinimum = schema.minimum;
    delete out.minimum;
  }
  if (schema.exclusiveMaximum === true && typeof schema.maximum === 'number') {
    out.exclusiveMaximum = schema.maximum;
    delete out.maximum;
  }
  if (schema.nullable === true && out.type !== undefined) {
    const types = Array.isArray(out.type) ? (out.type as unknown[]) : [out.type];
    out.type = [...types, 'null'];
    // ajv rejects `null` against an enum that does not list it
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
  }
  if (isSchema(out.properties) && out.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/**
 * findUnknownFields walks `value` along `schema` (the CRD form) and returns the
 * paths of fields the schema does not declare; with `prune` it also deletes
 * them from `value`. Paths are Kubernetes field paths (`spec.nics[0].colour`).
 */
export function findUnknownFields(schema: JsonSchema, value: unknown, opts: { prune: boolean; path?: string }): string[] {
  const out: string[] = [];
  walk(schema, value, opts.path ?? '', opts.prune, out);
  return out;
}

function walk(schema: JsonSchema, value: unknown, path: string, prune: boolean, out: string[]): void {
  if (Array.isArray(value)) {
    if (isSchema(schema.items)) {
      const items = schema.items;
      value.forEach((v, i) => walk(items, v, `${path}[${i}]`, prune, out));
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const obj = value as Record<string, unknown>;
  const props = isSchema(schema.properties) ? schema.properties : undefined;
  const extra = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(obj)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    const sub = props?.[key];
    if (isSchema(sub)) {
      walk(sub, obj[key], childPath, prune, out);
    } else if (isSchema(extra)) {
      walk(extra, obj[key], childPath, prune, out);
    } else if (props !== undefined && extra !== true && !preserve) {
      out.push(childPath);
      if (prune) delete obj[key];
    }
  }
}
