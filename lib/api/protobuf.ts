/**
 * Kubernetes protobuf request bodies, for the built-in kinds kubectl sends
 * through its typed clients (`kubectl create namespace|role|rolebinding|
 * clusterrole|clusterrolebinding|quota`, `auth can-i`, `auth whoami`): those
 * POST `application/vnd.kubernetes.protobuf`, not JSON. This decodes such a
 * body into the same JSON object a JSON body would give; responses stay JSON
 * (kubectl accepts both). Other kinds in protobuf get 415.
 *
 * The envelope is the 4 bytes `k8s\0` and a runtime.Unknown message
 * (typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3,
 * contentType = 4); `raw` is the typed message. Field numbers below are the
 * ones k8s.io/api's generated.proto files give. Only the fields a client
 * sets on create are read; unknown fields are skipped.
 */
import { BadRequestError, UnsupportedMediaTypeError } from '../errors.js';

/** PROTOBUF_MEDIA_TYPE is Kubernetes' protobuf content type. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** FieldType: a scalar, a nested message, or a map of string to a scalar or message. */
type FieldType = 'string' | 'int64' | 'bool' | Message | { map: 'string' | Message };
/** Message maps field numbers to a JSON name, a type and whether it repeats. */
type Message = { [field: number]: { name: string; type: FieldType; repeated?: boolean } };

const S = (name: string): Message[number] => ({ name, type: 'string' });
const RS = (name: string): Message[number] => ({ name, type: 'string', repeated: true });
const M = (name: string, type: Message, repeated = false): Message[number] => ({ name, type, repeated });

const OBJECT_META: Message = {
  1: S('name'),
  2: S('generateName'),
  3: S('namespace'),
  5: S('uid'),
  6: S('resourceVersion'),
  7: { name: 'generation', type: 'int64' },
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  14: RS('finalizers'),
};
const POLICY_RULE: Message = { 1: RS('verbs'), 2: RS('apiGroups'), 3: RS('resources'), 4: RS('resourceNames'), 5: RS('nonResourceURLs') };
const LABEL_SELECTOR: Message = {
  1: { name: 'matchLabels', type: { map: 'string' } },
  2: M('matchExpressions', { 1: S('key'), 2: S('operator'), 3: RS('values') }, true),
};
const SUBJECT: Message = { 1: S('kind'), 2: S('apiGroup'), 3: S('name'), 4: S('namespace') };
const ROLE_REF: Message = { 1: S('apiGroup'), 2: S('kind'), 3: S('name') };
const BINDING: Message = { 1: M('metadata', OBJECT_META), 2: M('subjects', SUBJECT, true), 3: M('roleRef', ROLE_REF) };
const QUANTITY: Message = { 1: S('string') };

/** MESSAGES are the typed messages decoded, by `apiVersion/kind`. */
const MESSAGES: Record<string, Message> = {
  'v1/Namespace': { 1: M('metadata', OBJECT_META), 2: M('spec', { 1: RS('finalizers') }) },
  'v1/ResourceQuota': {
    1: M('metadata', OBJECT_META),
    2: M('spec', { 1: { name: 'hard', type: { map: QUANTITY } }, 2: RS('scopes') }),
  },
  'rbac.authorization.k8s.io/v1/Role': { 1: M('metadata', OBJECT_META), 2: M('rules', POLICY_RULE, true) },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    1: M('metadata', OBJECT_META),
    2: M('rules', POLICY_RULE, true),
    3: M('aggregationRule', { 1: M('clusterRoleSelectors', LABEL_SELECTOR, true) }),
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': BINDING,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: M('metadata', OBJECT_META),
    2: M('spec', {
      1: M('resourceAttributes', {
        1: S('namespace'),
        2: S('verb'),
        3: S('group'),
        4: S('version'),
        5: S('resource'),
        6: S('subresource'),
        7: S('name'),
      }),
      2: M('nonResourceAttributes', { 1: S('path'), 2: S('verb') }),
    }),
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { 1: M('metadata', OBJECT_META), 2: M('spec', { 1: S('namespace') }) },
  'authentication.k8s.io/v1/SelfSubjectReview': { 1: M('metadata', OBJECT_META) },
};

/** Reader walks protobuf wire format. */
class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new BadRequestError('protobuf body: a varint runs past the end');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new BadRequestError('protobuf body: a varint is too long');
  }

  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new BadRequestError('protobuf body: a field runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new BadRequestError(`protobuf body: unsupported wire type ${wire}`);
  }
}

type Json = string | number | boolean | Json[] | { [k: string]: Json };

function decodeScalar(type: 'string' | 'int64' | 'bool', wire: number, r: Reader): Json {
  if (type === 'string') {
    if (wire !== 2) throw new BadRequestError('protobuf body: a string field has the wrong wire type');
    return r.bytes().toString('utf8');
  }
  if (wire !== 0) throw new BadRequestError(`protobuf body: a ${type} field has the wrong wire type`);
  const v = r.varint();
  return type === 'bool' ? v !== 0n : Number(BigInt.asIntN(64, v));
}

function decodeMapEntry(buf: Buffer, value: 'string' | Message): [string, Json] {
  const r = new Reader(buf);
  let key = '';
  let val: Json = value === 'string' ? '' : {};
  while (!r.done) {
    const tag = Number(r.varint());
    const field = tag >> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) key = r.bytes().toString('utf8');
    else if (field === 2 && wire === 2) val = value === 'string' ? r.bytes().toString('utf8') : decodeMessage(r.bytes(), value);
    else r.skip(wire);
  }
  // a Quantity (a message with one string) is a plain string in JSON
  if (value !== 'string' && typeof val === 'object' && !Array.isArray(val) && typeof val.string === 'string') val = val.string;
  return [key, val];
}

function decodeMessage(buf: Buffer, schema: Message): { [k: string]: Json } {
  const r = new Reader(buf);
  const out: { [k: string]: Json } = Object.create(null) as { [k: string]: Json };
  while (!r.done) {
    const tag = Number(r.varint());
    const field = schema[tag >> 3];
    const wire = tag & 7;
    if (!field) {
      r.skip(wire);
      continue;
    }
    const { name, type, repeated } = field;
    let value: Json;
    if (typeof type === 'string') value = decodeScalar(type, wire, r);
    else if ('map' in type) {
      if (wire !== 2) throw new BadRequestError(`protobuf body: map field ${name} has the wrong wire type`);
      const [k, v] = decodeMapEntry(r.bytes(), type.map as 'string' | Message);
      if (k === '__proto__' || k === 'constructor' || k === 'prototype')
        throw new BadRequestError(`protobuf body: ${name} may not have the key "${k}"`);
      const map = (out[name] ??= {}) as { [k: string]: Json };
      map[k] = v;
      continue;
    } else {
      if (wire !== 2) throw new BadRequestError(`protobuf body: message field ${name} has the wrong wire type`);
      value = decodeMessage(r.bytes(), type as Message);
    }
    if (repeated) ((out[name] ??= []) as Json[]).push(value);
    else out[name] = value;
  }
  return { ...out };
}

/**
 * decodeKubernetesProtobuf turns a protobuf request body into the JSON object
 * it stands for; UnsupportedMediaTypeError for kinds it does not know,
 * BadRequestError for a malformed body.
 */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new BadRequestError('protobuf body: missing the k8s\\0 prefix');
  const unknown = decodeMessage(body.subarray(4), {
    1: M('typeMeta', { 1: S('apiVersion'), 2: S('kind') }),
    3: S('contentEncoding'),
  });
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const key = `${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`;
  const schema = MESSAGES[key];
  if (!schema)
    throw new UnsupportedMediaTypeError(`${PROTOBUF_MEDIA_TYPE} is accepted for built-in kinds only, not ${key}: send application/json`);
  if (unknown.contentEncoding)
    throw new UnsupportedMediaTypeError(`protobuf body: content encoding ${String(unknown.contentEncoding)} is not supported`);
  const raw = rawField(body.subarray(4));
  return { apiVersion: typeMeta.apiVersion as string, kind: typeMeta.kind as string, ...decodeMessage(raw, schema) };
}

/** rawField returns the bytes of field 2 of a runtime.Unknown. */
function rawField(buf: Buffer): Buffer {
  const r = new Reader(buf);
  while (!r.done) {
    const tag = Number(r.varint());
    if (tag >> 3 === 2 && (tag & 7) === 2) return r.bytes();
    r.skip(tag & 7);
  }
  return Buffer.alloc(0);
}
