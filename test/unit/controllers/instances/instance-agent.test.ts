import { expect } from 'chai';
import { InstanceAgent } from '../../../../controllers/instances/instance-agent.js';
import { INSTANCE_FINALIZER } from '../../../../controllers/instances/instance-plan.js';
import { HollowRuntime } from '../../../../controllers/instances/runtimes/hollow.js';
import { containerNameFor, containerNamePrefix } from '../../../../controllers/instances/runtimes/naming.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Instance, InstanceSpec } from '../../../../lib/kinds/types.js';
import { type Harness, INSTANCE, instanceObj, makeHarness } from './harness.js';

const DATA_DIR = '/var/lib/cloudlet-unit-test';
const nameOf = (name: string): string => containerNameFor({ dataDir: DATA_DIR, namespace: 'default', name });

describe('InstanceAgent with the hollow runtime', () => {
  let h: Harness;
  let runtime: HollowRuntime;
  let agents: InstanceAgent[] = [];

  function newAgent(): InstanceAgent {
    const agent = new InstanceAgent({
      store: h.store,
      instanceKind: INSTANCE,
      instances: h.informers.forKind<Instance>(INSTANCE),
      memberName: 'm1',
      dataDir: DATA_DIR,
      runtime,
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
    agents.push(agent);
    return agent;
  }

  async function startAgent(): Promise<InstanceAgent> {
    const agent = newAgent();
    h.informers.start();
    await agent.start();
    return agent;
  }

  /** assign creates an instance already placed on `member` (as the scheduler would). */
  async function assign(name: string, spec: Partial<InstanceSpec> = {}, memberName = 'm1'): Promise<void> {
    const created = await h.store.create<Instance>(INSTANCE, instanceObj(name, spec));
    await h.store.update<Instance>(
      INSTANCE,
      { ...created, status: { phase: 'Scheduled', member: memberName, placementEpoch: 1, observedGeneration: 1 } },
      { subresource: 'status' },
    );
  }

  async function phaseIs(name: string, phase: string): Promise<boolean> {
    return (await h.instance(name)).status?.phase === phase;
  }

  async function updateSpec(name: string, patch: Partial<InstanceSpec>): Promise<void> {
    const cur = await h.instance(name);
    await h.store.update<Instance>(INSTANCE, { ...cur, spec: { ...cur.spec, ...patch } as InstanceSpec });
  }

  beforeEach(() => {
    h = makeHarness();
    runtime = new HollowRuntime({ prefix: containerNamePrefix(DATA_DIR), now: () => new Date(h.clock.now()) });
    agents = [];
  });
  afterEach(async () => {
    for (const a of agents) await a.stop();
    await h.informers.stop();
  });

  it('takes an assigned instance to Running with its finalizer, container name, limits and Ready=True', async () => {
    await startAgent();
    await assign('web', { cpu: 0.5, memory: '128Mi' });
    await h.until('web runs', () => phaseIs('web', 'Running'));
    const web = await h.instance('web');
    expect(web.metadata.finalizers).to.include(INSTANCE_FINALIZER);
    expect(web.status).to.include({ member: 'm1', containerName: nameOf('web') });
    expect(web.status?.recoverable, 'the failover controller owns status.recoverable').to.equal(undefined);
    expect(web.status?.startedAt).to.be.a('string');
    expect(web.status?.conditions?.find((c) => c.type === 'Ready')).to.include({
      status: 'True',
      reason: 'Running',
      observedGeneration: 1,
    });
    expect(runtime.specOf(nameOf('web'))).to.include({ hostname: 'web', cpu: 0.5, memoryBytes: 128 * 2 ** 20 });
    expect((await h.events()).map((e) => e.reason)).to.include('Started');
  });

  it('never creates anything for an instance assigned to another member', async () => {
    await startAgent();
    await assign('other', {}, 'm2');
    await assign('mine');
    await h.until('mine runs', () => phaseIs('mine', 'Running'));
    expect(await runtime.list()).to.deep.equal([nameOf('mine')]);
    expect((await h.instance('other')).status?.phase).to.equal('Scheduled');
  });

  it('notices a crash, restarts after the backoff and counts it, with ContainerExited then Restarted', async () => {
    await startAgent();
    await assign('web');
    await h.until('web runs', () => phaseIs('web', 'Running'));
    const firstPid = (await runtime.observe(nameOf('web'))).pid;
    runtime.simulateCrash(nameOf('web'));
    await h.until(
      'the restart is counted and it runs again',
      async () => (await h.instance('web')).status?.restartCount === 1 && (await phaseIs('web', 'Running')),
      { stepMs: 100 },
    );
    expect((await runtime.observe(nameOf('web'))).pid).to.not.equal(firstPid);
    const reasons = (await h.events()).map((e) => e.reason);
    expect(reasons).to.include.members(['ContainerExited', 'Restarted']);
    // A second crash waits twice as long, and is counted too.
    runtime.simulateCrash(nameOf('web'));
    await h.until(
      'the second restart is counted',
      async () => (await h.instance('web')).status?.restartCount === 2 && (await phaseIs('web', 'Running')),
      { stepMs: 100 },
    );
  });

  it('leaves a crashed instance with recovery none Stopped and says why', async () => {
    await startAgent();
    await assign('once', { recovery: 'none' });
    await h.until('once runs', () => phaseIs('once', 'Running'));
    runtime.simulateCrash(nameOf('once'));
    await h.until('once is Stopped', () => phaseIs('once', 'Stopped'), { stepMs: 100 });
    await h.clock.advanceAsync(30_000);
    const once = await h.instance('once');
    expect(once.status?.phase).to.equal('Stopped');
    expect(once.status?.message).to.match(/exited on its own.*recovery is none/);
    expect((await runtime.observe(nameOf('once'))).state).to.equal('STOPPED');
  });

  it('stops and starts the container as spec.state says, and resizes it live', async () => {
    await startAgent();
    await assign('web');
    await h.until('web runs', () => phaseIs('web', 'Running'));
    await updateSpec('web', { state: 'Stopped' });
    await h.until('web is Stopped', () => phaseIs('web', 'Stopped'));
    expect((await runtime.observe(nameOf('web'))).state).to.equal('STOPPED');
    await updateSpec('web', { state: 'Running' });
    await h.until('web runs again', () => phaseIs('web', 'Running'));
    await updateSpec('web', { memory: '512Mi' });
    await h.until('the new limit is applied', () => runtime.specOf(nameOf('web'))?.memoryBytes === 512 * 2 ** 20);
    await h.until('status observes generation 4', async () => (await h.instance('web')).status?.observedGeneration === 4);
    expect((await h.instance('web')).status?.restartCount ?? 0).to.equal(0);
  });

  it('deletes the container and then releases the finalizer', async () => {
    await startAgent();
    await assign('web');
    await h.until('web runs', () => phaseIs('web', 'Running'));
    const res = await h.store.delete(INSTANCE, 'web', 'default');
    expect(res.deleted).to.equal(false);
    await h.until('web is gone', async () => (await h.store.list<Instance>(INSTANCE)).items.length === 0);
    expect(await runtime.list()).to.deep.equal([]);
  });

  it('adopts a running container after an agent restart without restarting it', async () => {
    const first = await startAgent();
    await assign('web');
    await h.until('web runs', () => phaseIs('web', 'Running'));
    const before = await runtime.observe(nameOf('web'));
    const statusBefore = (await h.instance('web')).status;
    await first.stop();
    const second = newAgent();
    await second.start();
    await h.clock.advanceAsync(10_000);
    const after = await runtime.observe(nameOf('web'));
    expect(after.pid).to.equal(before.pid);
    expect(after.initStartedAt).to.equal(before.initStartedAt);
    expect((await h.instance('web')).status).to.deep.equal(statusBefore);
  });

  it('removes orphaned containers no assigned instance claims, once the informer has synced', async () => {
    await assign('kept');
    await runtime.ensureCreated({ containerName: nameOf('ghost'), hostname: 'ghost', rootfsPath: '/x', nics: [], mounts: [] });
    await runtime.start(nameOf('ghost'));
    await startAgent();
    await h.until(
      'the orphan is gone and kept runs',
      async () => !(await runtime.list()).includes(nameOf('ghost')) && (await phaseIs('kept', 'Running')),
    );
  });
});
