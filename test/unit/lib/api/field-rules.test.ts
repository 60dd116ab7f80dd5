import { expect } from 'chai';
import { SchemaValidator } from '../../../../lib/api/schema.js';
import { ValidationError } from '../../../../lib/errors.js';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import type { KubeObject } from '../../../../lib/store/types.js';

const kinds = KindRegistry.load();
const validator = new SchemaValidator(kinds.all());
const instanceKind = kinds.resolve('instances');
const poolKind = kinds.resolve('storagepools');

function instance(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web', namespace: 'default' }, spec };
}

function pool(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'StoragePool', metadata: { name: 'p' }, spec };
}

function fieldsRefused(kind: typeof instanceKind, obj: KubeObject, previous?: KubeObject): string[] {
  try {
    validator.validate(kind, obj, previous ? { previous } : {});
  } catch (err) {
    if (err instanceof ValidationError) return err.causes.map((c) => c.field);
    throw err;
  }
  return [];
}

describe('field rules in the API validation', () => {
  const table: Array<[string, Record<string, unknown>, string[]]> = [
    ['accepts a normal volume path', { image: 'busybox', volumes: [{ name: 'd', path: '/data' }] }, []],
    [
      'refuses a volume path that climbs out with ..',
      { image: 'busybox', volumes: [{ name: 'd', path: '/../../../../../tmp/x' }] },
      ['spec.volumes[0].path'],
    ],
    [
      'refuses a volume path under /proc',
      {
        image: 'busybox',
        volumes: [
          { name: 'a', path: '/data' },
          { name: 'b', path: '/proc/sys' },
        ],
      },
      ['spec.volumes[1].path'],
    ],
    ['refuses a volume path at /dev', { image: 'busybox', volumes: [{ name: 'd', path: '/dev' }] }, ['spec.volumes[0].path']],
    ['refuses a volume path with //', { image: 'busybox', volumes: [{ name: 'd', path: '/data//x' }] }, ['spec.volumes[0].path']],
    [
      'refuses a volume path with a newline',
      { image: 'busybox', volumes: [{ name: 'd', path: '/data\nlxc.x = y' }] },
      ['spec.volumes[0].path'],
    ],
    ['refuses a file image path with ..', { image: 'file:///tmp/../etc/shadow' }, ['spec.image']],
    ['refuses a file image path with an encoded ..', { image: 'file:///tmp/%2e%2e/etc/shadow' }, ['spec.image']],
    ['refuses a file image under /dev', { image: 'file:///dev/urandom' }, ['spec.image']],
    ['accepts a normalised file image path', { image: 'file:///var/lib/cloudlet/image-files/r.tar' }, []],
  ];
  for (const [name, spec, fields] of table) {
    it(name, () => {
      expect(fieldsRefused(instanceKind, instance(spec))).to.deep.equal(fields);
    });
  }

  it('names the field and the rule in the message', () => {
    try {
      validator.validate(instanceKind, instance({ image: 'busybox', volumes: [{ name: 'd', path: '/../x' }] }));
      expect.fail('validated');
    } catch (err) {
      expect(err).to.be.instanceOf(ValidationError);
      expect((err as ValidationError).message).to.equal(
        'Instance.cloudlet.dev "web" is invalid: spec.volumes[0].path: Invalid value: "/../x": must not contain a ".." segment',
      );
    }
  });

  it('refuses a pool source that is not normalised or is a kernel tree', () => {
    expect(fieldsRefused(poolKind, pool({ driver: 'dir', source: '/srv/../etc' }))).to.deep.equal(['spec.source']);
    expect(fieldsRefused(poolKind, pool({ driver: 'dir', source: '/' }))).to.deep.equal(['spec.source']);
    expect(fieldsRefused(poolKind, pool({ driver: 'dir', source: '/sys/fs' }))).to.deep.equal(['spec.source']);
    expect(fieldsRefused(poolKind, pool({ driver: 'dir', source: '/srv/pool' }))).to.deep.equal([]);
  });

  it('refuses ceph config paths that are not normalised', () => {
    expect(
      fieldsRefused(poolKind, pool({ driver: 'ceph', config: { conf: '/etc/ceph/ceph.conf', keyring: '/etc/ceph/../shadow' } })),
    ).to.deep.equal(['spec.config.keyring']);
    expect(fieldsRefused(poolKind, pool({ driver: 'ceph', config: { cluster: 'relative.conf', keyring: '/etc/ceph/k' } }))).to.deep.equal([
      'spec.config.cluster',
    ]);
  });

  it('does not check again a value the stored object already had, so old objects can still be updated and deleted', () => {
    const old = instance({ image: 'file:///tmp/../x', volumes: [{ name: 'd', path: '/../x' }] });
    const next = instance({ image: 'file:///tmp/../x', volumes: [{ name: 'd', path: '/../x' }] });
    next.metadata.finalizers = [];
    expect(fieldsRefused(instanceKind, next, old)).to.deep.equal([]);
  });

  it('checks a value an update changes', () => {
    const old = instance({ image: 'busybox', volumes: [{ name: 'd', path: '/data' }] });
    const next = instance({ image: 'busybox', volumes: [{ name: 'd', path: '/sys' }] });
    expect(fieldsRefused(instanceKind, next, old)).to.deep.equal(['spec.volumes[0].path']);
  });
});
