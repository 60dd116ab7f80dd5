import { expect } from 'chai';
import { parseApplyBody, serverSideApply } from '../../../../lib/api/apply.js';
import { recordUpdate } from '../../../../lib/api/managed-fields.js';
import { BadRequestError, ConflictError } from '../../../../lib/errors.js';
import type { KubeObject } from '../../../../lib/store/types.js';

const time = '2025-01-01T00:00:00Z';

function widget(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web', namespace: 'default', ...meta }, spec };
}

describe('serverSideApply', () => {
  it('creates the object with the applier owning its fields', () => {
    const out = serverSideApply(undefined, widget({ image: 'busybox', cpu: 1 }), { manager: 'kubectl', force: false, time });
    expect(out.spec).to.deep.equal({ image: 'busybox', cpu: 1 });
    expect(out.metadata.managedFields?.[0]?.fieldsV1).to.deep.equal({ 'f:spec': { 'f:image': {}, 'f:cpu': {} } });
  });

  it('merges applied fields into the live object instead of replacing it', () => {
    const live = { ...widget({ image: 'busybox', cpu: 2 }), status: { phase: 'Running' } };
    const out = serverSideApply(
      live,
      { apiVersion: live.apiVersion, kind: live.kind, metadata: { name: 'web', namespace: 'default', annotations: { a: 'b' } } },
      {
        manager: 'kubectl-last-applied',
        force: false,
        time,
      },
    );
    expect(out.spec).to.deep.equal({ image: 'busybox', cpu: 2 });
    expect(out.status).to.deep.equal({ phase: 'Running' });
    expect(out.metadata.annotations).to.deep.equal({ a: 'b' });
  });

  it('removes a field the same manager applied before and no longer applies', () => {
    const first = serverSideApply(undefined, widget({ image: 'busybox', cpu: 2 }), { manager: 'kubectl', force: false, time });
    const second = serverSideApply(first, widget({ image: 'busybox' }), { manager: 'kubectl', force: false, time });
    expect(second.spec).to.deep.equal({ image: 'busybox' });
  });

  it('reports a conflict with another manager that owns a changed field', () => {
    const live = widget({ image: 'busybox', cpu: 2 });
    live.metadata.managedFields = recordUpdate({ before: undefined, after: live, manager: 'kubectl-client-side-apply', time });
    try {
      serverSideApply(live, widget({ image: 'busybox', cpu: 4 }), { manager: 'kubectl', force: false, time });
      expect.fail('expected a conflict');
    } catch (err) {
      expect(err).to.be.instanceOf(ConflictError);
      expect((err as ConflictError).causes).to.deep.include({
        type: 'FieldManagerConflict',
        field: '.spec.cpu',
        message: 'conflict with "kubectl-client-side-apply" using cloudlet.dev/v1alpha1',
      });
    }
  });

  it('shares ownership without conflict when the values are equal, and takes it over when forced', () => {
    const live = widget({ image: 'busybox', cpu: 2 });
    live.metadata.managedFields = recordUpdate({ before: undefined, after: live, manager: 'other', time });
    expect(() => serverSideApply(live, widget({ image: 'busybox', cpu: 2 }), { manager: 'kubectl', force: false, time })).to.not.throw();
    const forced = serverSideApply(live, widget({ image: 'busybox', cpu: 4 }), { manager: 'kubectl', force: true, time });
    expect(forced.spec).to.deep.equal({ image: 'busybox', cpu: 4 });
    const other = forced.metadata.managedFields?.find((e) => e.manager === 'other');
    expect(other?.fieldsV1).to.deep.equal({ 'f:spec': { 'f:image': {} } });
  });
});

describe('parseApplyBody', () => {
  it('reads JSON and YAML bodies', () => {
    expect(parseApplyBody('{"apiVersion":"v1","kind":"Event","metadata":{"name":"a"}}').kind).to.equal('Event');
    expect(parseApplyBody('apiVersion: v1\nkind: Event\nmetadata: {name: a}\n').metadata.name).to.equal('a');
  });
  it('rejects a body without apiVersion and kind', () => {
    expect(() => parseApplyBody('metadata: {name: a}')).to.throw(BadRequestError);
    expect(() => parseApplyBody('{{{')).to.throw(BadRequestError);
  });
});

describe('server-side apply and the prototype chain', () => {
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  const bodies: Array<{ what: string; text: string; names: string }> = [
    {
      what: 'a YAML __proto__ key under spec',
      text: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: web\nspec:\n  __proto__:\n    polluted: yes\n',
      names: '.spec.__proto__',
    },
    {
      what: 'a JSON __proto__ key at the top',
      text: '{"apiVersion": "cloudlet.dev/v1alpha1", "kind": "Instance", "metadata": {"name": "web"}, "__proto__": {"polluted": "yes"}}',
      names: '.__proto__',
    },
    {
      what: 'a constructor label',
      text: '{"apiVersion": "cloudlet.dev/v1alpha1", "kind": "Instance", "metadata": {"name": "web", "labels": {"constructor": "x"}}}',
      names: '.metadata.labels.constructor',
    },
    {
      what: 'a prototype key inside a list',
      text: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: web\nspec:\n  disks:\n    - prototype: {}\n',
      names: '.spec.disks[0].prototype',
    },
  ];
  for (const b of bodies) {
    it(`refuses an apply body with ${b.what}, naming the field`, () => {
      expect(() => parseApplyBody(b.text))
        .to.throw(BadRequestError)
        .with.property('message')
        .that.includes(`"${b.names}"`);
      expect((Object.prototype as Record<string, unknown>).polluted).to.equal(undefined);
    });
  }

  it('merges over a live object holding __proto__ as an own key without touching prototypes', () => {
    const live = JSON.parse(
      '{"apiVersion": "cloudlet.dev/v1alpha1", "kind": "Instance", "metadata": {"name": "web"}, "spec": {"__proto__": {"polluted": "yes"}, "cpu": 1}}',
    ) as KubeObject;
    const out = serverSideApply(live, widget({ cpu: 2 }), { manager: 'kubectl', force: false, time });
    expect((out.spec as Record<string, unknown>).cpu).to.equal(2);
    expect(Object.getPrototypeOf(out.spec)).to.equal(Object.prototype);
    expect((Object.prototype as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
