/**
 * InstanceFencing is the instance agent's part of fencing (DESIGN.md §5)
 * that works on all local copies at once, outside any one reconcile:
 * - `fence` force-stops every local copy of a failover instance assigned
 *   here when this member cannot renew its lease (its Fencer calls it);
 * - `removeStaleCopies` deletes, when the member comes back, every local
 *   container whose instance is now placed elsewhere or at a newer epoch.
 * The per-instance rules are in placement-guard.ts.
 */
import type { EventRecorder } from '../../lib/controller/events.js';
import type { Informer } from '../../lib/controller/informer.js';
import { requestFor, type Request } from '../../lib/controller/reconciler.js';
import type { Instance } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { FencedInstances } from './fenced-instances.js';
import { isFailover } from './placement-guard.js';
import type { PlacementRecords } from './placement-record.js';
import type { Runtime } from './runtimes/types.js';

/** FencedCopy is one local copy the agent stopped when fencing. */
export interface FencedCopy {
  instance: Instance;
  containerName: string;
  /** wasRunning: the container was running and was force-stopped */
  wasRunning: boolean;
}

/** InstanceFencingOptions wire the fencing part to its agent. */
export interface InstanceFencingOptions {
  memberName: string;
  runtime: Runtime;
  instances: Informer<Instance>;
  events: EventRecorder;
  logger: Logger;
  /** fenced: the instances this member fenced; shared with the Fencer and the reconciler */
  fenced: FencedInstances;
  /** records: which placement epoch each local container was made for (the placement guard's) */
  records: PlacementRecords;
  containerNameOf: (req: Request) => string;
  /** removeContainer deletes a container, its root filesystem and its volume mounts (the reconciler's) */
  removeContainer: (containerName: string) => Promise<void>;
}

/** InstanceFencing fences local copies and removes stale ones; see the file comment. */
export class InstanceFencing {
  constructor(private readonly o: InstanceFencingOptions) {}

  /**
   * fence force-stops every local copy of an instance with recovery failover
   * assigned here and remembers each as fenced at its epoch, so nothing here
   * starts it again until it is placed anew. It uses only the informer cache
   * and the runtime: it works while the store is unreachable.
   */
  async fence(): Promise<FencedCopy[]> {
    const { fenced, runtime, memberName } = this.o;
    const out: FencedCopy[] = [];
    const targets = this.o.instances.list((i) => i.status?.member === memberName && isFailover(i) && !i.metadata.deletionTimestamp);
    for (const inst of targets) {
      const ns = inst.metadata.namespace ?? 'default';
      const epoch = inst.status?.placementEpoch ?? 0;
      const fresh = !fenced.blocks(ns, inst.metadata.name, epoch);
      fenced.add(ns, inst.metadata.name, epoch);
      const name = this.o.containerNameOf(requestFor(inst));
      const obs = await runtime.observe(name);
      const wasRunning = obs.state === 'RUNNING' || obs.state === 'STARTING';
      if (obs.exists && obs.state !== 'STOPPED') await runtime.stop(name, { force: true });
      if (fresh || wasRunning) out.push({ instance: inst, containerName: name, wasRunning });
    }
    return out;
  }

  /**
   * removeStaleCopies deletes every local container whose instance is now
   * assigned to another member, or to this one at a newer placement epoch
   * than the container was made for. Returns the removed container names.
   */
  async removeStaleCopies(): Promise<string[]> {
    const { memberName } = this.o;
    const removed: string[] = [];
    const byName = new Map(this.o.instances.list().map((i) => [this.o.containerNameOf(requestFor(i)), i] as const));
    for (const name of await this.o.runtime.list()) {
      const inst = byName.get(name);
      if (!inst?.status?.member) continue; // no instance claims it: the orphan sweep decides
      let stale = inst.status.member !== memberName;
      if (!stale) {
        const rec = await this.o.records.read(name);
        stale = rec !== undefined && rec.epoch < (inst.status.placementEpoch ?? 0);
      }
      if (!stale) continue;
      this.o.logger.info('removing a stale copy', { container: name, assignedTo: inst.status.member, epoch: inst.status.placementEpoch });
      await this.o.removeContainer(name);
      void this.o.events.normal(
        inst,
        'StaleCopyRemoved',
        `removed the stale copy ${name} from member ${memberName} on its return: the instance is placed on ${inst.status.member} at epoch ${inst.status.placementEpoch ?? 0}`,
      );
      removed.push(name);
    }
    return removed;
  }
}
