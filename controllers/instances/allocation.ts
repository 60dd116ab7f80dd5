/**
 * Member allocation: what the instances assigned to a member ask for, kept
 * in Member.status.allocated so `get members` and the scheduler's users see
 * it. `allocatedTo` is pure; AllocationReconciler (leader-only) writes it
 * when it differs.
 */
import type { Controller } from '../../lib/controller/controller.js';
import { enqueueMapped, enqueueObject } from '../../lib/controller/handlers.js';
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import type { Informer } from '../../lib/controller/informer.js';
import { updateStatus } from '../../lib/controller/status.js';
import { isCode } from '../../lib/errors.js';
import { deepEqual } from '../../lib/json.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance, Member, Resources } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import { requestsOf } from './scheduler.js';
import { formatExactBytes } from '../../lib/kinds/quantity.js';

/** allocatedTo sums the cpu and memory requests of the instances assigned to `member` (memory as an exact quantity). */
export function allocatedTo(member: string, instances: Instance[]): Resources {
  let cpu = 0;
  let memory = 0;
  for (const i of instances) {
    if (i.status?.member !== member) continue;
    const r = requestsOf(i);
    cpu += r.cpu;
    memory += r.memoryBytes;
  }
  return { cpu: Math.round(cpu * 1000) / 1000, memory: formatExactBytes(memory) };
}

/** AllocationReconcilerOptions wire the reconciler. */
export interface AllocationReconcilerOptions {
  store: Store;
  memberKind: KindInfo;
  members: Informer<Member>;
  instances: Informer<Instance>;
}

/** AllocationReconciler keeps Member.status.allocated equal to allocatedTo(member). */
export class AllocationReconciler implements Reconciler {
  constructor(private readonly o: AllocationReconcilerOptions) {}

  /** AllocationReconciler.watch makes `controller` reconcile a member when it changes and whenever an instance assigned to it changes. */
  static watch(controller: Controller, o: { members: Informer<Member>; instances: Informer<Instance> }): Controller {
    return controller.watches(o.members, enqueueObject<Member>()).watches(
      o.instances,
      enqueueMapped<Instance>((i) => (i.status?.member ? [{ name: i.status.member }] : [])),
    );
  }

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const cached = this.o.members.get({ name: req.name });
    if (!cached) return {};
    const want = allocatedTo(req.name, [...this.o.instances.listShared((i) => i.status?.member === req.name)]);
    if (deepEqual(cached.status?.allocated ?? {}, want)) return {};
    try {
      // The member agent writes status too: a conflict re-reads the member (the instances decided `want`).
      await updateStatus<Member>(this.o.store, this.o.memberKind, { name: req.name }, (member) => ({ ...member.status, allocated: want }));
    } catch (err) {
      // Still conflicting after every attempt: look again with fresh data.
      if (isCode(err, 'Conflict')) return { requeueAfter: 50 };
      throw err;
    }
    return {};
  }
}
