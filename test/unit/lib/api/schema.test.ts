import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import { SchemaValidator } from '../../../../lib/api/schema.js';
import { RequestEntityTooLargeError, ValidationError } from '../../../../lib/errors.js';
import { translateSchema } from '../../../../lib/api/schema-translate.js';
import type { KubeObject } from '../../../../lib/store/types.js';

const DESIGN_MANIFESTS = `
apiVersion: cloudlet.dev/v1alpha1
kind: StoragePool
metadata: {name: local}
spec:
  driver: btrfs
  size: 20Gi
---
apiVersion: cloudlet.dev/v1alpha1
kind: Network
metadata: {name: lan}
spec:
  driver: vxlan
  subnet: 10.42.0.0/24
  nat: true
---
apiVersion: cloudlet.dev/v1alpha1
kind: Volume
metadata: {name: data, namespace: default}
spec: {pool: local, size: 1Gi}
---
apiVersion: cloudlet.dev/v1alpha1
kind: Instance
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  image: busybox
  cpu: 1
  memory: 256Mi
  state: Running
  recovery: failover
  rootfs: {pool: local}
  nics: [{network: lan}]
  volumes: [{name: data, path: /data}]
  placement: {member: m2}
`;

const kinds = KindRegistry.load();
const validator = new SchemaValidator(kinds.all());
const instanceKind = kinds.resolve('instances');

function instance(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web', namespace: 'default', ...meta }, spec };
}

function causesOf(obj: KubeObject): string[] {
  try {
    validator.validate(instanceKind, obj);
  } catch (err) {
    if (err instanceof ValidationError) return err.causes.map((c) => `${c.field}: ${c.message}`);
    throw err;
  }
  return [];
}

describe('SchemaValidator', () => {
  it('accepts every manifest of DESIGN.md §8', () => {
    for (const doc of parseAllDocuments(DESIGN_MANIFESTS)) {
      const obj = doc.toJSON() as KubeObject;
      const kind = kinds.byApiVersionKind(obj.apiVersion, obj.kind);
      expect(kind, obj.kind).to.not.equal(undefined);
      if (kind) expect(validator.validate(kind, obj).warnings).to.deep.equal([]);
    }
  });

  it('applies the CRD defaults to missing fields', () => {
    const obj = instance({ image: 'busybox' });
    validator.validate(instanceKind, obj);
    expect(obj.spec).to.deep.equal({ image: 'busybox', cpu: 1, memory: '256Mi', state: 'Running', recovery: 'restart' });
  });

  const rejected: Array<{ what: string; obj: KubeObject; expected: string }> = [
    {
      what: 'a memory that is not a quantity',
      obj: instance({ image: 'busybox', memory: '12XB' }),
      expected: 'spec.memory: Invalid value: "12XB": spec.memory in body should match',
    },
    { what: 'an unknown field', obj: instance({ image: 'busybox', colour: 'red' }), expected: 'spec.colour: Unknown field' },
    {
      what: 'an unknown field inside a list item',
      obj: instance({ image: 'busybox', nics: [{ network: 'lan', speed: 1 }] }),
      expected: 'spec.nics[0].speed: Unknown field',
    },
    {
      what: 'a bad enum value',
      obj: instance({ image: 'busybox', state: 'Walking' }),
      expected: 'spec.state: Unsupported value: "Walking": supported values: "Running", "Stopped"',
    },
    { what: 'a missing required field', obj: instance({ cpu: 1 }), expected: 'spec.image: Required value' },
    {
      what: 'a wrong type',
      obj: instance({ image: 'busybox', cpu: 'two' }),
      expected: 'spec.cpu: Invalid value: "string": spec.cpu in body must be of type number',
    },
    {
      what: 'a zero cpu (exclusive minimum)',
      obj: instance({ image: 'busybox', cpu: 0 }),
      expected: 'spec.cpu: Invalid value: 0: spec.cpu in body should be greater than 0',
    },
    {
      what: 'a boolean as memory (int-or-string)',
      obj: instance({ image: 'busybox', memory: true }),
      expected: 'spec.memory: Invalid value: "boolean"',
    },
    {
      what: 'an upper-case name',
      obj: instance({ image: 'busybox' }, { name: 'Web' }),
      expected: 'metadata.name: Invalid value: "Web": a lowercase RFC 1123 label',
    },
    {
      what: 'a dotted instance name (not a DNS label)',
      obj: instance({ image: 'busybox' }, { name: 'a.b' }),
      expected: 'metadata.name: Invalid value: "a.b"',
    },
    {
      what: 'a bad namespace',
      obj: instance({ image: 'busybox' }, { namespace: 'No_Way' }),
      expected: 'metadata.namespace: Invalid value: "No_Way"',
    },
    {
      what: 'a non-string label value',
      obj: instance({ image: 'busybox' }, { labels: { app: 3 } }),
      expected: 'metadata.labels.app: Invalid value: 3: must be a string',
    },
    {
      what: 'too many nics',
      obj: instance({ image: 'busybox', nics: Array.from({ length: 9 }, () => ({ network: 'lan' })) }),
      expected: 'spec.nics: Too many: 9: must have at most 8 items',
    },
  ];
  for (const t of rejected) {
    it(`rejects ${t.what}`, () => {
      const causes = causesOf(t.obj);
      expect(
        causes.some((c) => c.startsWith(t.expected)),
        causes.join('\n'),
      ).to.equal(true);
    });
  }

  it('names the object and the field in the message', () => {
    expect(() => validator.validate(instanceKind, instance({ image: 'busybox', memory: '12XB' }))).to.throw(
      ValidationError,
      /^Instance\.cloudlet\.dev "web" is invalid: spec\.memory: Invalid value: "12XB"/,
    );
  });

  it('drops unknown fields with a warning under fieldValidation=Warn', () => {
    const obj = instance({ image: 'busybox', colour: 'red' });
    const { warnings } = validator.validate(instanceKind, obj, { fieldValidation: 'Warn' });
    expect(warnings).to.deep.equal(['unknown field "spec.colour"']);
    expect(obj.spec).to.not.have.property('colour');
  });

  it('drops unknown fields silently under fieldValidation=Ignore', () => {
    const obj = instance({ image: 'busybox', colour: 'red' });
    expect(validator.validate(instanceKind, obj, { fieldValidation: 'Ignore' }).warnings).to.deep.equal([]);
    expect(obj.spec).to.not.have.property('colour');
  });

  it('accepts any fields on a core Event', () => {
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1', namespace: 'default' },
      reason: 'Started',
      anything: { x: 1 },
    };
    expect(validator.validate(kinds.resolve('events'), ev).warnings).to.deep.equal([]);
  });

  it('rejects an object over 1 MiB', () => {
    const obj = instance({ image: 'busybox' }, { annotations: { big: 'x'.repeat(200 * 1024) }, labels: {} });
    const anns: Record<string, string> = {};
    for (let i = 0; i < 6; i++) anns[`a${i}`] = 'x'.repeat(200 * 1024);
    obj.metadata.annotations = anns;
    expect(() => validator.validate(instanceKind, obj)).to.throw(/./);
    obj.metadata.annotations = { a: 'x'.repeat(200 * 1024) };
    obj.spec = { image: 'busybox', volumes: Array.from({ length: 30000 }, (_, i) => ({ name: `v${i}`, path: `/data/${i}` })) };
    expect(() => validator.validate(instanceKind, obj)).to.throw(RequestEntityTooLargeError);
  });
});

describe('translateSchema', () => {
  const table: Array<{ what: string; input: Record<string, unknown>; output: Record<string, unknown> }> = [
    {
      what: 'int-or-string',
      input: { 'x-kubernetes-int-or-string': true, pattern: 'a' },
      output: { pattern: 'a', type: ['integer', 'string'] },
    },
    {
      what: 'boolean exclusiveMinimum',
      input: { type: 'number', minimum: 0, exclusiveMinimum: true },
      output: { type: 'number', exclusiveMinimum: 0 },
    },
    { what: 'nullable', input: { type: 'string', nullable: true }, output: { type: ['string', 'null'] } },
    {
      what: 'properties without extras',
      input: { type: 'object', properties: {} },
      output: { type: 'object', properties: {}, additionalProperties: false },
    },
    {
      what: 'preserve-unknown-fields',
      input: { type: 'object', properties: {}, 'x-kubernetes-preserve-unknown-fields': true },
      output: { type: 'object', properties: {} },
    },
    { what: 'an unknown format', input: { type: 'string', format: 'hostname-ish' }, output: { type: 'string' } },
  ];
  for (const t of table) {
    it(`translates ${t.what}`, () => {
      expect(translateSchema(t.input)).to.deep.equal(t.output);
    });
  }
});
