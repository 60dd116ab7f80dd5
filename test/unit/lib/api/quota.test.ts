import { expect } from 'chai';
import {
  QuotaAdmission,
  checkQuota,
  computeUsed,
  countResource,
  formatAmount,
  usageDelta,
  usageOf,
  type Usage,
} from '../../../../lib/api/quota.js';
import { ForbiddenError } from '../../../../lib/errors.js';
import { EVENT_KIND, NAMESPACE_KIND, RESOURCE_QUOTA_KIND } from '../../../../lib/kinds/builtin.js';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import type { ResourceList, ResourceQuota } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../../lib/store/types.js';

const kinds = KindRegistry.load();
const INSTANCE = kinds.resolve('instances');
const VOLUME = kinds.resolve('volumes');
const GI = 2 ** 30;
const MI = 2 ** 20;

function inst(name: string, spec: Record<string, unknown> = {}, namespace = 'team'): KubeObject {
  return { apiVersion: INSTANCE.apiVersion, kind: 'Instance', metadata: { name, namespace }, spec: { image: 'busybox', ...spec } };
}
function vol(name: string, size: string, namespace = 'team'): KubeObject {
  return { apiVersion: VOLUME.apiVersion, kind: 'Volume', metadata: { name, namespace }, spec: { pool: 'p', size } };
}
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
function quota(name: string, hard: ResourceList): ResourceQuota {
  return { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, namespace: 'team' }, spec: { hard } };
}

describe('quota usage', () => {
  const table: Array<[string, () => Usage, Usage]> = [
    [
      'an instance with the CRD defaults uses 1 core and 256Mi',
      () => usageOf(INSTANCE, inst('a')),
      {
        'count/instances.cloudlet.dev': 1,
        'requests.cpu': 1,
        'limits.cpu': 1,
        cpu: 1,
        'requests.memory': 256 * MI,
        'limits.memory': 256 * MI,
        memory: 256 * MI,
      },
    ],
    [
      'an instance with cpu, memory and a rootfs size uses them all, the rootfs as requests.storage',
      () => usageOf(INSTANCE, inst('a', { cpu: 2.5, memory: '1Gi', rootfs: { size: '8Gi' } })),
      {
        'count/instances.cloudlet.dev': 1,
        'requests.cpu': 2.5,
        'limits.cpu': 2.5,
        cpu: 2.5,
        'requests.memory': GI,
        'limits.memory': GI,
        memory: GI,
        'requests.storage': 8 * GI,
      },
    ],
    [
      'a volume uses its count and its size as requests.storage',
      () => usageOf(VOLUME, vol('v', '16Gi')),
      { 'count/volumes.cloudlet.dev': 1, 'requests.storage': 16 * GI },
    ],
    [
      'a core kind uses its count, named without a group',
      () => usageOf(EVENT_KIND, { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'team' } }),
      { 'count/events': 1 },
    ],
    [
      'a cluster-scoped kind uses nothing',
      () => usageOf(NAMESPACE_KIND, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } }),
      {},
    ],
    [
      'an update is charged only what grows',
      () => usageDelta(INSTANCE, inst('a', { cpu: 4, memory: '128Mi' }), inst('a', { cpu: 2, memory: '1Gi' })),
      { 'requests.cpu': 2, 'limits.cpu': 2, cpu: 2 },
    ],
    ['an unchanged update is charged nothing', () => usageDelta(VOLUME, vol('v', '1Gi'), vol('v', '1Gi')), {}],
  ];
  for (const [name, got, want] of table) {
    it(name, () => {
      expect(got()).to.deep.equal(want);
    });
  }

  it('names count resources like Kubernetes', () => {
    expect(countResource(INSTANCE)).to.equal('count/instances.cloudlet.dev');
    expect(countResource(RESOURCE_QUOTA_KIND)).to.equal('count/resourcequotas');
  });

  const formats: Array<[string, number, string]> = [
    ['requests.cpu', 2.5, '2500m'],
    ['cpu', 3, '3'],
    ['limits.cpu', 0.1 + 0.2, '300m'],
    ['requests.memory', GI, '1Gi'],
    ['memory', 1280 * MI, '1280Mi'],
    ['requests.storage', 1500, '1500'],
    ['count/instances.cloudlet.dev', 2, '2'],
  ];
  for (const [resource, amount, want] of formats) {
    it(`formats ${resource}=${amount} as ${want}`, () => {
      expect(formatAmount(resource, amount)).to.equal(want);
    });
  }

  it('checks only what grows, and adds fractions without drifting', () => {
    expect(checkQuota({ cpu: 0.3 }, { cpu: 0.1 }, { cpu: 0.2 })).to.deep.equal({ exceeded: [], next: { cpu: 0.3 } });
    expect(checkQuota({ cpu: 1, memory: GI }, { cpu: 2, memory: 0 }, { memory: MI }).exceeded).to.deep.equal([]);
    expect(checkQuota({ cpu: 1, memory: GI }, { cpu: 1, memory: GI }, { cpu: 1, memory: 1 }).exceeded).to.deep.equal(['cpu', 'memory']);
  });
});

describe('QuotaAdmission', () => {
  let store: MemoryStore;
  let admission: QuotaAdmission;
  beforeEach(() => {
    store = new MemoryStore();
    admission = new QuotaAdmission({ store, kinds, logger: silentLogger() });
  });
  afterEach(async () => {
    await admission.stop();
  });

  async function makeQuota(name: string, hard: ResourceList, used?: ResourceList): Promise<ResourceQuota> {
    const q = await store.create(RESOURCE_QUOTA_KIND, quota(name, hard));
    if (!used) return q;
    return store.update(RESOURCE_QUOTA_KIND, { ...q, status: { hard, used } }, { subresource: 'status' });
  }
  const read = (name: string): Promise<ResourceQuota> => store.get<ResourceQuota>(RESOURCE_QUOTA_KIND, name, 'team');

  it('refuses an instance over the cap with Kubernetes’ message and charges nothing', async () => {
    await makeQuota('compute', { 'requests.cpu': '4', 'requests.memory': '1Gi' }, { 'requests.cpu': '3', 'requests.memory': '512Mi' });
    const before = await read('compute');
    const err = await rejection(admission.charge(INSTANCE, inst('web', { cpu: 2, memory: '256Mi' })));
    expect(err).to.be.instanceOf(ForbiddenError);
    expect(err.message).to.equal(
      'instances.cloudlet.dev "web" is forbidden: exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=3, limited: requests.cpu=4',
    );
    expect((await read('compute')).metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
  });

  it('charges an object under the cap to every quota limiting what it uses', async () => {
    await makeQuota('compute', { 'requests.cpu': '4', 'requests.memory': '1Gi' }, { 'requests.cpu': '1', 'requests.memory': '256Mi' });
    await makeQuota('storage', { 'requests.storage': '20Gi' }, { 'requests.storage': '0' });
    await makeQuota('networks', { 'count/networks.cloudlet.dev': '1' }, { 'count/networks.cloudlet.dev': '0' });
    await admission.charge(INSTANCE, inst('web', { cpu: 1.5, memory: '512Mi', rootfs: { size: '4Gi' } }));
    expect((await read('compute')).status).to.deep.equal({
      hard: { 'requests.cpu': '4', 'requests.memory': '1Gi' },
      used: { 'requests.cpu': '2500m', 'requests.memory': '768Mi' },
    });
    expect((await read('storage')).status?.used).to.deep.equal({ 'requests.storage': '4Gi' });
    expect((await read('networks')).status?.used).to.deep.equal({ 'count/networks.cloudlet.dev': '0' });
  });

  it('counts a quota without status.used from the live objects before charging', async () => {
    await store.create(INSTANCE, inst('a'));
    await store.create(INSTANCE, inst('b'));
    await store.create(INSTANCE, inst('other', {}, 'elsewhere'));
    await store.create(INSTANCE, { ...inst('going'), metadata: { name: 'going', namespace: 'team', finalizers: ['x'] } });
    await store.delete(INSTANCE, 'going', 'team');
    await makeQuota('count', { 'count/instances.cloudlet.dev': '3' });
    await admission.charge(INSTANCE, inst('c'));
    expect((await read('count')).status?.used).to.deep.equal({ 'count/instances.cloudlet.dev': '3' });
    const err = await rejection(admission.charge(INSTANCE, inst('d')));
    expect(err).to.be.instanceOf(ForbiddenError);
    expect(err.message).to.equal(
      'instances.cloudlet.dev "d" is forbidden: exceeded quota: count, requested: count/instances.cloudlet.dev=1, used: count/instances.cloudlet.dev=3, limited: count/instances.cloudlet.dev=3',
    );
  });

  it('admits exactly one of two racing creates when one unit is left', async () => {
    await makeQuota('count', { 'count/volumes.cloudlet.dev': '2' }, { 'count/volumes.cloudlet.dev': '1' });
    const results = await Promise.allSettled([admission.charge(VOLUME, vol('x', '1Gi')), admission.charge(VOLUME, vol('y', '1Gi'))]);
    expect(results.map((r) => r.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused?.reason).to.be.instanceOf(ForbiddenError);
    expect((await read('count')).status?.used).to.deep.equal({ 'count/volumes.cloudlet.dev': '2' });
  });

  it('checks a dry run without writing', async () => {
    await makeQuota('storage', { 'requests.storage': '10Gi' }, { 'requests.storage': '2Gi' });
    const before = await read('storage');
    await admission.charge(VOLUME, vol('v', '8Gi'), undefined, true);
    expect((await read('storage')).metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
    const err = await rejection(admission.charge(VOLUME, vol('v', '9Gi'), undefined, true));
    expect(err).to.be.instanceOf(ForbiddenError);
    expect(err.message).to.contain('requested: requests.storage=9Gi, used: requests.storage=2Gi, limited: requests.storage=10Gi');
  });

  it('charges an update only its growth, reading quotas from its cache once started', async () => {
    await makeQuota('compute', { cpu: '4' }, { cpu: '2' });
    admission.start();
    await admission.waitForSync();
    await admission.charge(INSTANCE, inst('web', { cpu: 3 }), inst('web', { cpu: 2 }));
    expect((await read('compute')).status?.used).to.deep.equal({ cpu: '3' });
    // a shrink charges nothing; a charge from a cached copy older than the store conflicts, re-reads and still lands
    await admission.charge(INSTANCE, inst('web', { cpu: 1 }), inst('web', { cpu: 3 }));
    await admission.charge(INSTANCE, inst('db', { cpu: 1 }));
    expect((await read('compute')).status?.used).to.deep.equal({ cpu: '4' });
  });

  it('computes used over the live objects of one namespace', async () => {
    await store.create(VOLUME, vol('a', '1Gi'));
    await store.create(INSTANCE, inst('i', { rootfs: { size: '512Mi' } }));
    expect(await computeUsed(store, kinds, 'team', ['requests.storage', 'count/volumes.cloudlet.dev', 'pods'])).to.deep.equal({
      'requests.storage': GI + 512 * MI,
      'count/volumes.cloudlet.dev': 1,
      pods: 0,
    });
  });
});
