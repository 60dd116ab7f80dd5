import { expect } from 'chai';
import { InstanceAgent } from '../../../../controllers/instances/instance-agent.js';
import { decideLock, encodeLock, InstanceLocks, lockKey } from '../../../../controllers/instances/instance-lock.js';
import { HollowRuntime } from '../../../../controllers/instances/runtimes/hollow.js';
import { containerNameFor, containerNamePrefix } from '../../../../controllers/instances/runtimes/naming.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Instance, InstanceSpec } from '../../../../lib/kinds/types.js';
import type { Lease } from '../../../../lib/store/types.js';
import { type Harness, INSTANCE, instanceObj, makeHarness } from './harness.js';

const DATA_DIR = '/nonexistent/cloudlet-failover-guard-test';
const nameOf = (name: string): string => containerNameFor({ dataDir: DATA_DIR, namespace: 'default', name });

describe('instance lock decision', () => {
  const want = { member: 'm1', epoch: 2 };
  const rows = [
    { title: 'claims an absent key', entry: undefined, kind: 'claim' },
    {
      title: 'holds a key on its own lease with the same value',
      entry: { key: 'k', value: encodeLock(want), revision: '5', lease: 'L1' },
      kind: 'held',
    },
    {
      title: 'rebinds a key on its own lease at an older epoch',
      entry: { key: 'k', value: encodeLock({ member: 'm1', epoch: 1 }), revision: '5', lease: 'L1' },
      kind: 'rebind',
    },
    {
      title: "waits for a key on another member's lease",
      entry: { key: 'k', value: encodeLock({ member: 'm2', epoch: 1 }), revision: '5', lease: 'L2' },
      kind: 'wait',
    },
    {
      title: "waits for its own member's key on an older lease of its own (it expires with that lease)",
      entry: { key: 'k', value: encodeLock(want), revision: '5', lease: 'L0' },
      kind: 'wait',
    },
    {
      title: 'waits for an unreadable key it does not own',
      entry: { key: 'k', value: 'garbage', revision: '5', lease: 'L9' },
      kind: 'wait',
    },
  ] as const;
  for (const row of rows) {
    it(row.title, () => {
      expect(decideLock({ entry: row.entry, want, leaseId: 'L1' }).kind).to.equal(row.kind);
    });
  }
  it('names the holder and its epoch when it waits', () => {
    const d = decideLock({
      entry: { key: 'k', value: encodeLock({ member: 'm2', epoch: 4 }), revision: '1', lease: 'L2' },
      want,
      leaseId: 'L1',
    });
    expect(d.kind === 'wait' && d.message).to.match(/held by member m2 at placement epoch 4/);
  });
});

describe('failover discipline in the instance agent (hollow runtime)', () => {
  let h: Harness;
  let runtime: HollowRuntime;
  let lease: Lease | undefined;
  let agent: InstanceAgent;

  async function startAgent(): Promise<InstanceAgent> {
    agent = new InstanceAgent({
      store: h.store,
      instanceKind: INSTANCE,
      instances: h.informers.forKind<Instance>(INSTANCE),
      memberName: 'm1',
      dataDir: DATA_DIR,
      runtime,
      locks: new InstanceLocks({ store: h.store, memberName: 'm1', lease: () => lease }),
      events: new EventRecorder({
        store: h.store,
        logger: h.logger,
        metrics: h.metrics,
        component: 'instance-agent',
        host: 'm1',
        clock: h.clock,
      }),
      logger: h.logger,
      metrics: h.metrics,
      clock: h.clock,
    });
    h.informers.start();
    await agent.start();
    return agent;
  }

  async function assign(name: string, spec: Partial<InstanceSpec>, member = 'm1', epoch = 1): Promise<void> {
    const created = await h.store.create<Instance>(INSTANCE, instanceObj(name, spec));
    await h.store.update<Instance>(
      INSTANCE,
      { ...created, status: { phase: 'Scheduled', member, placementEpoch: epoch, observedGeneration: 1 } },
      { subresource: 'status' },
    );
  }

  async function place(name: string, member: string, epoch: number): Promise<void> {
    const cur = await h.instance(name);
    await h.store.update<Instance>(
      INSTANCE,
      { ...cur, status: { ...cur.status, phase: 'Scheduled', member, placementEpoch: epoch } },
      { subresource: 'status' },
    );
  }

  const running = async (name: string): Promise<boolean> => (await runtime.observe(nameOf(name))).state === 'RUNNING';
  const phaseIs = async (name: string, phase: string): Promise<boolean> => (await h.instance(name)).status?.phase === phase;

  beforeEach(async () => {
    h = makeHarness();
    runtime = new HollowRuntime({ prefix: containerNamePrefix(DATA_DIR), now: () => new Date(h.clock.now()) });
    lease = await h.store.grantLease(5);
  });
  afterEach(async () => {
    await agent?.stop();
    await h.informers.stop();
  });

  it('takes the lock, bound to the member lease, before starting a failover instance', async () => {
    await startAgent();
    await assign('web', { recovery: 'failover' });
    await h.until('web runs', () => phaseIs('web', 'Running'));
    const entry = await h.store.raw.get(lockKey('default', 'web'));
    expect(entry?.lease).to.equal(lease?.id);
    expect(JSON.parse(entry?.value ?? '{}')).to.deep.equal({ member: 'm1', epoch: 1 });
  });

  it('takes no lock for an instance with recovery restart', async () => {
    await startAgent();
    await assign('web', { recovery: 'restart' });
    await h.until('web runs', () => phaseIs('web', 'Running'));
    expect(await h.store.raw.get(lockKey('default', 'web'))).to.equal(undefined);
  });

  it("waits, and says so, while another member's live lease holds the lock; starts once that lease ends", async () => {
    const other = await h.store.grantLease(5);
    await h.store.raw.claim(lockKey('default', 'web'), encodeLock({ member: 'm2', epoch: 1 }), { lease: other });
    await startAgent();
    await assign('web', { recovery: 'failover' }, 'm1', 2);
    await h.until('the wait is in status', async () => /held by member m2/.test((await h.instance('web')).status?.message ?? ''));
    await h.clock.advanceAsync(2000);
    expect(await running('web')).to.equal(false);
    h.store.expireLease(other.id);
    await h.until('web runs', () => phaseIs('web', 'Running'), { stepMs: 100 });
  });

  it('does not start without a member lease', async () => {
    lease = undefined;
    await startAgent();
    await assign('web', { recovery: 'failover' });
    await h.until('the wait is in status', async () => /holds no heartbeat lease/.test((await h.instance('web')).status?.message ?? ''));
    expect(await running('web')).to.equal(false);
  });

  it('keeps a fenced instance stopped at its epoch, Unknown/Fenced, and runs it again once placed anew', async () => {
    await startAgent();
    await assign('web', { recovery: 'failover' });
    await h.until('web runs', () => phaseIs('web', 'Running'));
    const copies = await agent.fence();
    expect(copies.map((c) => [c.containerName, c.wasRunning])).to.deep.equal([[nameOf('web'), true]]);
    expect(await running('web')).to.equal(false);
    await h.until('web is Unknown', () => phaseIs('web', 'Unknown'), { stepMs: 100 });
    expect((await h.instance('web')).status?.conditions?.find((c) => c.type === 'Ready')?.reason).to.equal('Fenced');
    await h.clock.advanceAsync(20_000);
    expect(await running('web')).to.equal(false);
    await place('web', 'm1', 2);
    await h.until('web runs again', () => phaseIs('web', 'Running'), { stepMs: 100 });
    expect((await h.events()).map((e) => e.reason)).to.include('StaleCopyRemoved');
    expect(agent.fenced.size).to.equal(0);
  });

  it('fences only failover instances', async () => {
    await startAgent();
    await assign('web', { recovery: 'failover' });
    await assign('db', { recovery: 'restart' });
    await h.until('both run', async () => (await phaseIs('web', 'Running')) && (await phaseIs('db', 'Running')));
    await agent.fence();
    expect(await running('web')).to.equal(false);
    expect(await running('db')).to.equal(true);
  });

  it('deletes its copy and releases the lock when the instance is placed on another member', async () => {
    await startAgent();
    await assign('web', { recovery: 'failover' });
    await h.until('web runs', () => phaseIs('web', 'Running'));
    await place('web', 'm2', 2);
    await h.until('the copy is gone', async () => !(await runtime.observe(nameOf('web'))).exists, { stepMs: 100 });
    expect(await h.store.raw.get(lockKey('default', 'web'))).to.equal(undefined);
  });

  it('removes stale copies on start before reconciling anything', async () => {
    await assign('web', { recovery: 'failover' }, 'm2', 3);
    await runtime.ensureCreated({ containerName: nameOf('web'), hostname: 'web', rootfsPath: '/x', nics: [], mounts: [] });
    await runtime.start(nameOf('web'));
    await startAgent();
    expect((await runtime.observe(nameOf('web'))).exists).to.equal(false);
    await h.until('the removal is recorded', async () => (await h.events()).some((e) => e.reason === 'StaleCopyRemoved'));
  });
});
