import { expect } from 'chai';
import { OrphanSweeper } from '../../../../controllers/instances/orphan-sweeper.js';
import { HollowRuntime } from '../../../../controllers/instances/runtimes/hollow.js';
import { FakeClock } from '../../../../lib/controller/clock.js';
import type { Request } from '../../../../lib/controller/reconciler.js';
import { silentLogger } from '../../../../lib/log/logger.js';

async function container(runtime: HollowRuntime, name: string): Promise<void> {
  await runtime.ensureCreated({ containerName: name, hostname: name, rootfsPath: '/nonexistent', nics: [], mounts: [] });
}

describe('OrphanSweeper', () => {
  function sweeper(opts: { runtime: HollowRuntime; claimed: () => string[]; users?: string[] }): {
    sweeper: OrphanSweeper;
    removed: string[];
    clock: FakeClock;
  } {
    const removed: string[] = [];
    const clock = new FakeClock();
    const held = new Set(opts.users ?? []);
    const s = new OrphanSweeper({
      runtime: opts.runtime,
      volumes: { mountsFor: async () => [], release: async (n) => void held.delete(n), users: async () => [...held] },
      clock,
      logger: silentLogger(),
      intervalMs: 1000,
      mine: () => opts.claimed().map((name): Request => ({ name, namespace: 'default' })),
      containerNameOf: (req) => req.name,
      removeContainer: async (name) => {
        removed.push(name);
        await opts.runtime.delete(name);
      },
      warn: (message) => {
        throw new Error(message);
      },
    });
    return { sweeper: s, removed, clock };
  }

  it('removes the containers and volume users no instance here claims, and keeps the claimed ones', async () => {
    const runtime = new HollowRuntime();
    await container(runtime, 'web');
    await container(runtime, 'ghost');
    const { sweeper: s, removed } = sweeper({ runtime, claimed: () => ['web'], users: ['gone-with-volumes'] });
    expect(await s.sweepOrphans()).to.deep.equal(['ghost', 'gone-with-volumes']);
    expect(removed).to.deep.equal(['ghost', 'gone-with-volumes']);
    expect(await runtime.list()).to.deep.equal(['web']);
  });

  it('spares a container an instance claims by the time it would be removed', async () => {
    const runtime = new HollowRuntime();
    await container(runtime, 'late');
    let claims = 0;
    // The first look finds no claim; the second (just before removing) finds one.
    const { sweeper: s } = sweeper({ runtime, claimed: () => (claims++ === 0 ? [] : ['late']) });
    expect(await s.sweepOrphans()).to.deep.equal([]);
  });

  it('sweeps every interval once started, and no more once stopped', async () => {
    const runtime = new HollowRuntime();
    const { sweeper: s, removed, clock } = sweeper({ runtime, claimed: () => [] });
    s.start();
    await container(runtime, 'a');
    await clock.advanceAsync(1000);
    expect(removed).to.deep.equal(['a']);
    s.stop();
    await container(runtime, 'b');
    await clock.advanceAsync(5000);
    expect(removed).to.deep.equal(['a']);
  });
});
