import { expect } from 'chai';
import { InstanceAgent } from '../../../../controllers/instances/instance-agent.js';
import { planInstance, type PlanInput } from '../../../../controllers/instances/instance-plan.js';
import type { InstanceVolumes } from '../../../../controllers/instances/instance-reconciler.js';
import { HollowRuntime } from '../../../../controllers/instances/runtimes/hollow.js';
import { containerNameFor, containerNamePrefix } from '../../../../controllers/instances/runtimes/naming.js';
import type { MountSpec } from '../../../../controllers/instances/runtimes/types.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Instance, InstanceSpec } from '../../../../lib/kinds/types.js';
import { type Harness, INSTANCE, instanceObj, makeHarness } from './harness.js';

const DATA_DIR = '/var/lib/cloudlet-unit-test-volumes';
const nameOf = (name: string): string => containerNameFor({ dataDir: DATA_DIR, namespace: 'default', name });

/** FakeVolumes records what the agent asks of storage. */
class FakeVolumes implements InstanceVolumes {
  released: string[] = [];
  held = new Set<string>();
  async mountsFor(_instance: Instance, containerName: string): Promise<MountSpec[]> {
    this.held.add(containerName);
    return [];
  }
  async release(containerName: string): Promise<void> {
    this.released.push(containerName);
    this.held.delete(containerName);
  }
  async users(): Promise<string[]> {
    return [...this.held];
  }
}

describe('planInstance gives shared volumes back while an instance is Stopped', () => {
  const stopped = { exists: true, state: 'STOPPED' as const };
  const base = (spec: Partial<InstanceSpec>): PlanInput => ({
    instance: {
      ...instanceObj('web', { state: 'Stopped', ...spec }),
      metadata: { name: 'web', namespace: 'default', generation: 1 },
      status: { phase: 'Stopped', member: 'm1', observedGeneration: 1 },
    },
    memberName: 'm1',
    containerName: 'c-web',
    observation: stopped,
    hasFinalizer: true,
    liveResize: true,
    restartWaitMs: 0,
    restartDelayMs: 0,
    now: Date.parse('2025-06-01T00:00:00Z'),
  });
  const rows: Array<{ title: string; input: PlanInput; actions: string[] }> = [
    {
      title: 'releases the volumes of a stopped container that should stay stopped',
      input: base({ volumes: [{ name: 'data', path: '/data' }] }),
      actions: ['releaseVolumes'],
    },
    { title: 'has nothing to release for an instance without volumes', input: base({}), actions: [] },
    {
      title: 'does not release the volumes of a stopped container that should run (it starts, mounting them)',
      input: base({ state: 'Running', volumes: [{ name: 'data', path: '/data' }] }),
      actions: ['start'],
    },
  ];
  for (const row of rows) {
    it(row.title, () => {
      expect(planInstance(row.input).actions).to.deep.equal(row.actions);
    });
  }
});

describe('the instance agent releases volumes of the containers it deletes (hollow runtime)', () => {
  let h: Harness;
  let runtime: HollowRuntime;
  let volumes: FakeVolumes;
  let agent: InstanceAgent;

  async function assign(name: string, spec: Partial<InstanceSpec>, member = 'm1', epoch = 1): Promise<void> {
    const created = await h.store.create<Instance>(INSTANCE, instanceObj(name, spec));
    await h.store.update<Instance>(
      INSTANCE,
      { ...created, status: { phase: 'Scheduled', member, placementEpoch: epoch, observedGeneration: 1 } },
      { subresource: 'status' },
    );
  }
  async function patch(name: string, fn: (i: Instance) => Instance, status = false): Promise<void> {
    await h.store.update<Instance>(INSTANCE, fn(await h.instance(name)), status ? { subresource: 'status' } : {});
  }
  const phaseIs = async (name: string, phase: string): Promise<boolean> => (await h.instance(name)).status?.phase === phase;

  beforeEach(async () => {
    h = makeHarness();
    runtime = new HollowRuntime({ prefix: containerNamePrefix(DATA_DIR), now: () => new Date(h.clock.now()) });
    volumes = new FakeVolumes();
    agent = new InstanceAgent({
      store: h.store,
      instanceKind: INSTANCE,
      instances: h.informers.forKind<Instance>(INSTANCE),
      memberName: 'm1',
      dataDir: DATA_DIR,
      runtime,
      volumes,
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
  });
  afterEach(async () => {
    await agent.stop();
    await h.informers.stop();
  });

  it('releases them when the instance is deleted', async () => {
    await assign('web', { volumes: [{ name: 'data', path: '/data' }] });
    await h.until('Running', () => phaseIs('web', 'Running'));
    expect(volumes.released).to.deep.equal([]);
    await h.store.delete(INSTANCE, 'web', 'default');
    await h.until('gone', async () => !(await runtime.observe(nameOf('web'))).exists && volumes.released.includes(nameOf('web')));
  });

  it('releases them when the instance moves to another member (its copy here is removed)', async () => {
    await assign('web', { volumes: [{ name: 'data', path: '/data' }] });
    await h.until('Running', () => phaseIs('web', 'Running'));
    await patch('web', (i) => ({ ...i, status: { ...i.status, member: 'm2', placementEpoch: 2, phase: 'Scheduled' } }), true);
    await h.until(
      'copy removed and volumes released',
      async () => !(await runtime.observe(nameOf('web'))).exists && volumes.released.includes(nameOf('web')),
    );
  });

  it('releases them while the instance is Stopped, and not while it runs', async () => {
    await assign('web', { volumes: [{ name: 'data', path: '/data' }] });
    await h.until('Running', () => phaseIs('web', 'Running'));
    await h.clock.advanceAsync(1000);
    expect(volumes.released).to.deep.equal([]);
    await patch('web', (i) => ({ ...i, spec: { ...i.spec, state: 'Stopped' } as InstanceSpec }));
    await h.until('Stopped and released', async () => (await phaseIs('web', 'Stopped')) && volumes.released.includes(nameOf('web')));
    expect((await runtime.observe(nameOf('web'))).exists).to.equal(true);
  });

  it('retries a release from the orphan sweep for a container that is gone but still holds volumes', async () => {
    volumes.held.add(nameOf('ghost'));
    expect(await agent.sweepOrphans()).to.deep.equal([nameOf('ghost')]);
    expect(volumes.released).to.deep.equal([nameOf('ghost')]);
  });
});
