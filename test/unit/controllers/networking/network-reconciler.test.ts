import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import { SharedInformerFactory } from '../../../../lib/controller/shared-informer-factory.js';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import type { ReconcileContext } from '../../../../lib/controller/reconciler.js';
import type { Member, Network } from '../../../../lib/kinds/types.js';
import { NetworkDriverRegistry } from '../../../../controllers/networking/drivers/registry.js';
import type { NetworkDriver, NetworkPlan, PlumbingNames } from '../../../../controllers/networking/drivers/types.js';
import { Ipam } from '../../../../controllers/networking/ipam.js';
import { addressPlan } from '../../../../controllers/networking/subnet.js';
import { FINALIZER_PREFIX, NetworkReconciler } from '../../../../controllers/networking/network-reconciler.js';
import { eventually } from '../../../helpers/poll.js';

class FakeDriver implements NetworkDriver {
  readonly built = new Map<string, NetworkPlan>();
  constructor(readonly info: NetworkDriver['info']) {}
  async ensure(plan: NetworkPlan): Promise<void> {
    this.built.set(plan.network, plan);
  }
  async remove(names: PlumbingNames): Promise<void> {
    for (const [k, p] of this.built) if (p.names.bridge === names.bridge) this.built.delete(k);
  }
  async observe(plan: NetworkPlan) {
    return { exists: this.built.has(plan.network), ready: this.built.has(plan.network), problems: [] };
  }
  attachment(plan: NetworkPlan) {
    return { link: plan.names.bridge, mtu: plan.mtu };
  }
}

const kinds = KindRegistry.load();
const networkKind = kinds.resolve('networks');
const memberKind = kinds.resolve('members');
const ctx = {
  log: silentLogger(),
  signal: new AbortController().signal,
  reconcileId: 't',
  controller: 'network-agent',
} as ReconcileContext;

describe('NetworkReconciler', () => {
  let store: MemoryStore;
  let factory: SharedInformerFactory;
  let reconciler: NetworkReconciler;
  let vxlan: FakeDriver;
  let ipam: Ipam;

  async function until(check: () => boolean): Promise<void> {
    await eventually('the network informer to catch up', check, { timeoutMs: 1_000, everyMs: 5 });
  }
  async function apply(name: string, spec: Network['spec']): Promise<void> {
    await store.create<Network>(networkKind, { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name }, spec });
    await sync();
  }
  async function sync(): Promise<void> {
    const rev = await store.currentRevision();
    const inf = factory.forKind<Network>(networkKind);
    await until(
      () =>
        Number(inf.lastSyncResourceVersion()) >= Number(rev) || inf.list().every((n) => Number(n.metadata.resourceVersion) <= Number(rev)),
    );
    await sleep(20);
  }
  async function reconcile(name: string): Promise<Network> {
    // Reconcile until the object settles (the finalizer is added in its own pass).
    for (let i = 0; i < 3; i++) {
      await reconciler.reconcile({ name }, ctx);
      await sync();
    }
    return store.get<Network>(networkKind, name);
  }

  beforeEach(async () => {
    store = new MemoryStore();
    factory = new SharedInformerFactory({ store, logger: silentLogger(), resyncPeriodMs: 0 });
    vxlan = new FakeDriver({ name: 'vxlan', spansMembers: true, nat: true, dns: true, mtuOverhead: 50, attachment: 'linux-bridge' });
    ipam = new Ipam({ raw: store.raw });
    reconciler = new NetworkReconciler({
      store,
      networkKind,
      networks: factory.forKind<Network>(networkKind),
      members: factory.forKind<Member>(memberKind),
      ipam,
      drivers: new NetworkDriverRegistry([vxlan]),
      memberName: 'm1',
      stateRoot: '/unused',
      clock: new FakeClock(),
      events: new EventRecorder({
        store,
        logger: silentLogger(),
        metrics: createMetrics(),
        component: 'network-agent',
        host: 'm1',
        clock: new FakeClock(),
      }),
    });
    for (const [name, address] of [
      ['m1', '10.77.0.11'],
      ['m2', '10.77.0.12'],
    ] as const) {
      const m = await store.create<Member>(memberKind, {
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Member',
        metadata: { name },
        spec: { address },
      });
      await store.update<Member>(memberKind, { ...m, status: { phase: 'Ready' } }, { subresource: 'status' });
    }
    factory.start();
    await factory.waitForSync();
  });
  afterEach(async () => {
    await factory.stop();
    await store.close();
  });

  it('builds a valid network with the peers and names, holds a finalizer and reports this member ready', async () => {
    await apply('lan', { driver: 'vxlan', subnet: '10.42.0.0/24' });
    await ipam.allocate({
      network: 'lan',
      plan: addressPlan({ subnet: '10.42.0.0/24' }),
      owner: { namespace: 'default', instance: 'web', nic: 0 },
    });
    const net = await reconcile('lan');
    expect(net.metadata.finalizers).to.deep.equal([`${FINALIZER_PREFIX}m1`]);
    const plan = vxlan.built.get('lan');
    expect(plan?.underlay).to.deep.equal({ local: '10.77.0.11', peers: ['10.77.0.12'] });
    expect(plan?.hosts).to.deep.equal([{ address: '10.42.0.2', names: ['web', 'web.default'] }]);
    expect(net.status).to.deep.include({ gateway: '10.42.0.1', allocated: 1, members: [{ name: 'm1', ready: true }] });
  });

  it('refuses an unknown driver, a tiny subnet and an overlapping subnet without building anything', async () => {
    await apply('old', { driver: 'vxlan', subnet: '10.42.0.0/16' });
    await apply('o', { driver: 'ovn', subnet: '10.50.0.0/24' });
    await apply('tiny', { driver: 'vxlan', subnet: '10.51.0.0/30' });
    await apply('young', { driver: 'vxlan', subnet: '10.42.9.0/24' });
    const cases: Array<[string, string, RegExp]> = [
      ['o', 'UnknownDriver', /network driver "ovn" is not available; known drivers: vxlan/],
      ['tiny', 'InvalidSpec', /too small/],
      ['young', 'SubnetOverlap', /overlaps 10.42.0.0\/16 of network "old"/],
    ];
    for (const [name, reason, message] of cases) {
      const net = await reconcile(name);
      const ready = net.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready, name).to.deep.include({ status: 'False', reason });
      expect(ready?.message, name).to.match(message);
      expect(net.status?.phase).to.equal('NotReady');
      expect(net.metadata.finalizers ?? []).to.deep.equal([]);
      expect(vxlan.built.has(name)).to.equal(false);
    }
  });

  it('keeps a network in use until its addresses are released, then removes the plumbing and the finalizer', async () => {
    await apply('lan', { driver: 'vxlan', subnet: '10.42.0.0/24' });
    const owner = { namespace: 'default', instance: 'web', nic: 0 };
    await ipam.allocate({ network: 'lan', plan: addressPlan({ subnet: '10.42.0.0/24' }), owner });
    await reconcile('lan');
    const res = await store.delete<Network>(networkKind, 'lan', undefined);
    expect(res.deleted).to.equal(false);
    await sync();
    const waiting = await reconcile('lan');
    expect(waiting.status?.phase).to.equal('Deleting');
    expect(waiting.status?.conditions?.find((c) => c.type === 'Ready')).to.deep.include({
      reason: 'InUse',
      message: 'network "lan" is still in use by default/web nic 0; deletion waits until they are gone',
    });
    await flushPromises(20);
    const events = (
      await store.list<KubeObject & { type?: string; reason?: string; message?: string }>(kinds.resolve('events'), { namespace: 'default' })
    ).items;
    // one Warning however many passes saw the network still in use
    expect(events.filter((e) => e.reason === 'DeletionBlocked').map((e) => [e.type, e.message])).to.deep.equal([
      ['Warning', 'network "lan" is still in use by default/web nic 0; deletion waits until they are gone'],
    ]);
    expect(vxlan.built.has('lan')).to.equal(true);
    await ipam.release('lan', owner);
    await reconciler.reconcile({ name: 'lan' }, ctx);
    expect(vxlan.built.has('lan')).to.equal(false);
    let gone = false;
    try {
      await store.get(networkKind, 'lan');
    } catch {
      gone = true;
    }
    expect(gone).to.equal(true);
  });
});
