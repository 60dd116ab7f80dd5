/**
 * OpenAPI v3 documents (KUBECTL-API.md §3, option B): an index and one
 * document per group-version whose PATCH operations declare the
 * `fieldValidation` parameter (so kubectl validates on the server) and whose
 * component schemas carry descriptions (so `kubectl explain` works).
 */
import type { JsonSchema, KindInfo, KindRegistry } from '../kinds/registry.js';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
const PATCH_TYPES = ['application/merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml'];

/** schemaName is the component name of a kind (`dev.cloudlet.v1alpha1.Instance`, `io.k8s.api.core.v1.Event`). */
export function schemaName(kind: KindInfo, suffix = ''): string {
  const prefix = kind.group === '' ? 'io.k8s.api.core' : kind.group.split('.').reverse().join('.');
  return `${prefix}.${kind.version}.${kind.kind}${suffix}`;
}

/** groupVersionPath is the index key of a group-version (`apis/cloudlet.dev/v1alpha1`, `api/v1`). */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** openapiIndex is the `/openapi/v3` document listing every served group-version. */
export function openapiIndex(kinds: KindRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const k of kinds.all()) {
    const p = groupVersionPath(k.group, k.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}` };
  }
  return { paths };
}

const EVENT_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'Event is a report of an event somewhere in the cluster; `kubectl describe` lists the events of an object.',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    apiVersion: { type: 'string', description: 'APIVersion of this object (v1).' },
    kind: { type: 'string', description: 'Kind of this object (Event).' },
    involvedObject: {
      type: 'object',
      description: 'The object this event is about.',
      properties: {
        apiVersion: { type: 'string', description: 'API version of the object.' },
        kind: { type: 'string', description: 'Kind of the object.' },
        name: { type: 'string', description: 'Name of the object.' },
        namespace: { type: 'string', description: 'Namespace of the object.' },
        uid: { type: 'string', description: 'UID of the object.' },
      },
    },
    reason: { type: 'string', description: 'Short, machine-understandable reason for the event.' },
    message: { type: 'string', description: 'Human-readable description of the event.' },
    type: { type: 'string', description: 'Normal or Warning.' },
    count: { type: 'integer', description: 'How many times the event occurred.' },
    firstTimestamp: { type: 'string', format: 'date-time', description: 'When the event was first recorded.' },
    lastTimestamp: { type: 'string', format: 'date-time', description: 'When the event was last recorded.' },
    source: {
      type: 'object',
      description: 'Component reporting the event.',
      properties: { component: { type: 'string' }, host: { type: 'string' } },
    },
  },
};

function objectMetaSchema(): JsonSchema {
  const str = (description: string): JsonSchema => ({ type: 'string', description });
  return {
    type: 'object',
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    properties: {
      name: str('Name must be unique within a namespace; for Instances, Members and Networks it is a DNS label.'),
      namespace: str('Namespace of a namespaced object.'),
      generateName: str('Prefix for a server-generated name when name is empty.'),
      uid: str('Unique id of this object, set by the server.'),
      resourceVersion: str('Version of this object (the etcd revision of its last change), for optimistic concurrency.'),
      generation: { type: 'integer', format: 'int64', description: 'Bumped on every change of spec.' },
      creationTimestamp: { type: 'string', format: 'date-time', description: 'When the object was created.' },
      deletionTimestamp: { type: 'string', format: 'date-time', description: 'When deletion was requested; set while finalizers run.' },
      labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Labels for selection and grouping.' },
      annotations: { type: 'object', additionalProperties: { type: 'string' }, description: 'Unstructured key-value data.' },
      finalizers: {
        type: 'array',
        items: { type: 'string' },
        description: 'Finalizers that must be removed before the object is deleted.',
      },
      ownerReferences: {
        type: 'array',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        description: 'Objects this object depends on.',
      },
      managedFields: {
        type: 'array',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        description: 'Which field manager owns which fields.',
      },
    },
  };
}

function kindSchema(k: KindInfo): JsonSchema {
  const base: JsonSchema = k.group === '' && k.kind === 'Event' ? EVENT_SCHEMA : k.schema;
  const props = { ...((base.properties as Record<string, unknown> | undefined) ?? {}) };
  props.metadata = { description: "Standard object's metadata.", allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }] };
  return { ...base, properties: props, 'x-kubernetes-group-version-kind': [{ group: k.group, version: k.version, kind: k.kind }] };
}

function listSchema(k: KindInfo): JsonSchema {
  return {
    type: 'object',
    description: `${k.listKind} is a list of ${k.kind}.`,
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of this list.' },
      kind: { type: 'string', description: `Kind of this list (${k.listKind}).` },
      metadata: { description: 'Standard list metadata.', allOf: [{ $ref: `#/components/schemas/${LIST_META}` }] },
      items: { type: 'array', description: `List of ${k.plural}.`, items: { $ref: `#/components/schemas/${schemaName(k)}` } },
    },
    'x-kubernetes-group-version-kind': [{ group: k.group, version: k.version, kind: k.listKind }],
  };
}

function op(k: KindInfo, action: string, verb: string, schema: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    operationId: `${verb}${k.kind}`,
    tags: [groupVersionPath(k.group, k.version)],
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: k.group, version: k.version, kind: k.kind },
    ...extra,
  };
}

function query(name: string, description: string): Record<string, unknown> {
  return { name, in: 'query', description, schema: { type: 'string' }, uniqueItems: true };
}

function pathParam(name: string): Record<string, unknown> {
  return { name, in: 'path', required: true, description: `${name} of the object`, schema: { type: 'string' } };
}

function kindPaths(k: KindInfo): Record<string, unknown> {
  const base = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`;
  const coll = k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}` : `${base}/${k.plural}`;
  const nsParams = k.namespaced ? [pathParam('namespace')] : [];
  const self = schemaName(k);
  const body = { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${self}` } } } };
  const writeParams = [
    query('dryRun', 'All to validate without persisting.'),
    query('fieldManager', 'Name of the actor making the change.'),
    query('fieldValidation', 'Strict, Warn or Ignore: what to do with unknown fields.'),
  ];
  const patchBody = { required: true, content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: { type: 'object' } }])) };
  const patchParams = [...writeParams, query('force', 'Take over fields other managers own (apply only).')];
  const paths: Record<string, unknown> = {
    [coll]: {
      parameters: nsParams,
      get: op(k, 'list', 'list', schemaName(k, 'List')),
      post: op(k, 'post', 'create', self, { requestBody: body, parameters: writeParams }),
    },
    [`${coll}/{name}`]: {
      parameters: [...nsParams, pathParam('name')],
      get: op(k, 'get', 'read', self),
      put: op(k, 'put', 'replace', self, { requestBody: body, parameters: writeParams }),
      patch: op(k, 'patch', 'patch', self, { requestBody: patchBody, parameters: patchParams }),
      delete: op(k, 'delete', 'delete', self, { parameters: [query('dryRun', 'All to validate without persisting.')] }),
    },
  };
  if (k.namespaced) paths[`${base}/${k.plural}`] = { get: op(k, 'list', 'listAllNamespaces', schemaName(k, 'List')) };
  if (k.hasStatus) {
    paths[`${coll}/{name}/status`] = {
      parameters: [...nsParams, pathParam('name')],
      get: op(k, 'get', 'readStatus', self),
      put: op(k, 'put', 'replaceStatus', self, { requestBody: body, parameters: writeParams }),
      patch: op(k, 'patch', 'patchStatus', self, { requestBody: patchBody, parameters: patchParams }),
    };
  }
  return paths;
}

/** openapiDocument is the OpenAPI v3 document of one group-version, or undefined if none is served. */
export function openapiDocument(kinds: KindRegistry, group: string, version: string): Record<string, unknown> | undefined {
  const ks = kinds.all().filter((k) => k.group === group && k.version === version);
  if (ks.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    [OBJECT_META]: objectMetaSchema(),
    [LIST_META]: {
      type: 'object',
      description: 'ListMeta describes a list.',
      properties: {
        resourceVersion: { type: 'string', description: 'Revision the list was read at.' },
        continue: { type: 'string', description: 'Token for the next page.' },
      },
    },
  };
  for (const k of ks) {
    Object.assign(paths, kindPaths(k));
    schemas[schemaName(k)] = kindSchema(k);
    schemas[schemaName(k, 'List')] = listSchema(k);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Cloudlet', version: group ? `${group}/${version}` : version },
    paths,
    components: { schemas },
  };
}
