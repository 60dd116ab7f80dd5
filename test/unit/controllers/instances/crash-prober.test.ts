import { expect } from 'chai';
import { CrashProber } from '../../../../controllers/instances/crash-prober.js';
import { HollowRuntime } from '../../../../controllers/instances/runtimes/hollow.js';
import type { Request } from '../../../../lib/controller/reconciler.js';
import type { Instance } from '../../../../lib/kinds/types.js';
import { INSTANCE, makeHarness } from './harness.js';

describe('CrashProber (hollow runtime)', () => {
  async function setup(): Promise<{
    prober: CrashProber;
    runtime: HollowRuntime;
    queued: string[];
    advance: (ms: number) => Promise<void>;
  }> {
    const h = makeHarness();
    const runtime = new HollowRuntime();
    for (const name of ['web', 'db']) {
      await runtime.ensureCreated({ containerName: name, hostname: name, rootfsPath: '/nonexistent', nics: [], mounts: [] });
      await runtime.start(name);
    }
    const queued: string[] = [];
    const prober = new CrashProber({
      memberName: 'm1',
      runtime,
      instances: h.informers.forKind<Instance>(INSTANCE),
      clock: h.clock,
      logger: h.logger,
      metrics: h.metrics,
      intervalMs: 2000,
      mine: () => ['web', 'db'].map((name): Request => ({ name, namespace: 'default' })),
      containerNameOf: (req) => req.name,
      requeue: (req) => queued.push(req.name),
      warn: (message) => {
        throw new Error(message);
      },
    });
    for (const name of ['web', 'db']) prober.remember(name, await runtime.observe(name));
    return { prober, runtime, queued, advance: (ms) => h.clock.advanceAsync(ms) };
  }

  it('queues nothing while every container is the one last seen running', async () => {
    const { prober, queued } = await setup();
    await prober.probe();
    expect(queued).to.deep.equal([]);
  });

  it('queues the instance whose container stopped behind its back', async () => {
    const { prober, runtime, queued } = await setup();
    runtime.simulateCrash('db');
    await prober.probe();
    expect(queued).to.deep.equal(['db']);
  });

  it('queues a container it was told stopped or that it forgot', async () => {
    const { prober, runtime, queued } = await setup();
    prober.remember('web', { exists: true, state: 'STOPPED' });
    prober.forget('db');
    await prober.probe();
    expect(queued).to.deep.equal(['web', 'db']);
    expect((await runtime.observe('web')).state).to.equal('RUNNING');
  });

  it('probes every interval once started, and no more once stopped', async () => {
    const { prober, runtime, queued, advance } = await setup();
    prober.start();
    runtime.simulateCrash('web');
    await advance(2000);
    expect(queued).to.deep.equal(['web']);
    prober.stop();
    await advance(10_000);
    expect(queued).to.deep.equal(['web']);
  });
});
