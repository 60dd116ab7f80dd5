/** Test harness for the instance controllers: a MemoryStore, real kinds, informers on a FakeClock, and helpers to drive time. */
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import type { CoreEvent } from '../../../../lib/controller/events.js';
import { SharedInformerFactory } from '../../../../lib/controller/shared-informer-factory.js';
import { EVENT_KIND, KindRegistry } from '../../../../lib/kinds/registry.js';
import type { Instance, InstanceSpec, Member } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';

const kinds = KindRegistry.load();
/** INSTANCE and MEMBER are the real kinds from crds/. */
export const INSTANCE = kinds.resolve('instances');
export const MEMBER = kinds.resolve('members');

/** Harness bundles what the controller tests share. */
export interface Harness {
  clock: FakeClock;
  store: MemoryStore;
  informers: SharedInformerFactory;
  logger: ReturnType<typeof silentLogger>;
  metrics: ReturnType<typeof createMetrics>;
  events(): Promise<CoreEvent[]>;
  instance(name: string): Promise<Instance>;
  /** until advances fake time in steps (letting real I/O settle) until `check` passes; throws with `what` if it never does */
  until(what: string, check: () => Promise<boolean> | boolean, opts?: { stepMs?: number; steps?: number }): Promise<void>;
}

/** makeHarness builds a fresh harness. */
export function makeHarness(): Harness {
  const clock = new FakeClock({ start: Date.parse('2025-06-01T00:00:00Z') });
  const store = new MemoryStore({ now: () => new Date(clock.now()) });
  const logger = silentLogger();
  const metrics = createMetrics();
  const informers = new SharedInformerFactory({ store, logger, metrics, clock, resyncPeriodMs: 0 });
  return {
    clock,
    store,
    informers,
    logger,
    metrics,
    events: async () => (await store.list<CoreEvent>(EVENT_KIND)).items,
    instance: (name) => store.get<Instance>(INSTANCE, name, 'default'),
    async until(what, check, opts = {}) {
      // Bounded by steps of fake time AND by real time, so a loaded machine (fewer
      // callback turns per step) does not run out of fake time before work settles.
      const realDeadline = Date.now() + 20_000;
      for (let i = 0; i < (opts.steps ?? 200) || Date.now() < realDeadline; i++) {
        if (await check()) return;
        if (i >= 5_000) break;
        await clock.advanceAsync(opts.stepMs ?? 10);
        await flushPromises();
        if (i >= (opts.steps ?? 200)) await new Promise((r) => setTimeout(r, 2));
      }
      throw new Error(`timed out waiting until ${what}`);
    },
  };
}

/** member makes a Member with a phase and capacity. */
export function member(name: string, opts: { phase?: 'Ready' | 'NotReady'; cpu?: number; memory?: string } = {}): Member {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name },
    spec: { unschedulable: false },
    status: { phase: opts.phase ?? 'Ready', capacity: { cpu: opts.cpu ?? 4, memory: opts.memory ?? '4Gi' } },
  };
}

/** createMember creates a Member and writes its status. */
export async function createMember(store: MemoryStore, m: Member): Promise<void> {
  const created = await store.create<Member>(MEMBER, { ...m, status: undefined });
  await store.update<Member>(MEMBER, { ...created, status: m.status }, { subresource: 'status' });
}

/** instanceObj makes an Instance manifest in namespace default. */
export function instanceObj(name: string, spec: Partial<InstanceSpec> = {}): Instance {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default' },
    spec: { image: 'busybox', cpu: 1, memory: '256Mi', ...spec },
  };
}
