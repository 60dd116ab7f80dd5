/**
 * The one answer to "can this instance fail over?" (status.recoverable and
 * status.recoverableReason), as a pure function.
 *
 * It lives here, beside `planFailover`, because the failover controller owns
 * the fact: it is the only writer of status.recoverable and the only code
 * that acts on it (it moves an instance off a lost member only when
 * `decideRecoverability` says yes). The instance agent neither computes nor
 * writes it. Placement is judged with the scheduler's own predicates
 * (`pinAllows`, `selectorAllows`, `spreadCount`), storage with the drivers'
 * capability objects (`info.shared`), never with driver names.
 */
import type { Instance, Member, StoragePool, Volume } from '../../lib/kinds/types.js';
import { pinAllows, selectorAllows, spreadCount, type Placement } from '../instances/scheduler.js';
import type { StorageDriverInfo } from '../storage/drivers/types.js';

/** StorageDriverCapabilities maps a StoragePool's spec.driver to that driver's capabilities (STORAGE_DRIVER_INFO in production). */
export type StorageDriverCapabilities = Readonly<Partial<Record<string, Pick<StorageDriverInfo, 'shared'>>>>;

/** Recoverability is status.recoverable and the sentence for status.recoverableReason. */
export interface Recoverability {
  recoverable: boolean;
  reason: string;
}

/** RecoverabilityInput is the instance and the parts of the cluster its recoverability depends on. */
export interface RecoverabilityInput {
  instance: Instance;
  /** members: every Member object (any phase) */
  members: Member[];
  /** instances: every instance with its status.member, for spread groups */
  instances: Instance[];
  pools: StoragePool[];
  volumes: Volume[];
  drivers: StorageDriverCapabilities;
}

/**
 * decideRecoverability says whether another member could run `instance` if
 * its member failed, and names what decides it:
 * 1. `spec.recovery` must be `failover` (restart and none never move it);
 * 2. every volume it mounts must exist on a pool whose driver is `shared`
 *    (local-pool data stays on one member); its root filesystem never blocks:
 *    it is made anew from the image on the new member, whatever
 *    `spec.rootfs.pool` says;
 * 3. placement must allow a member other than its current one (or, while it
 *    is unscheduled, at least two members): `spec.placement.member` and
 *    `spec.placement.memberSelector` filter the members of the cluster
 *    (every Member not Left or being deleted, whatever its health now).
 * Every blocking constraint of 2 and 3 is named in the reason. Health, room
 * and `spreadGroup` do not make an instance unrecoverable: they change from
 * minute to minute and the failover controller reports them (NoTarget) when
 * a failure happens; spread is a preference of the scheduler, so a group
 * that already has an instance on every other member is only mentioned.
 */
export function decideRecoverability(input: RecoverabilityInput): Recoverability {
  const { instance } = input;
  const recovery = instance.spec?.recovery ?? 'restart';
  if (recovery !== 'failover') {
    return {
      recoverable: false,
      reason: `spec.recovery is ${recovery}: after a failure it is ${recovery === 'none' ? 'left stopped' : 'restarted on the same member'}, never moved`,
    };
  }
  const storage = storageBlockers(input);
  const placement = placementOf(input);
  const blockers = [...storage, ...(placement.blocker === undefined ? [] : [placement.blocker])];
  if (blockers.length > 0) return { recoverable: false, reason: blockers.join('; ') };

  const vols = instance.spec?.volumes ?? [];
  const rootfsPool = instance.spec?.rootfs?.pool;
  const parts = [
    vols.length === 0
      ? 'it mounts no volumes'
      : `every volume it mounts is on a shared pool (${vols.map((v) => `"${v.name}"`).join(', ')})`,
    `its root filesystem${rootfsPool === undefined ? '' : ` (pool "${rootfsPool}")`} is made anew from its image there`,
    'another member matches its placement',
  ];
  if (placement.spreadFull !== undefined)
    parts.push(
      `spread group "${placement.spreadFull}" already has an instance on every other such member, so it would share one (spread is a preference)`,
    );
  return { recoverable: true, reason: `another member can run it: ${parts.join('; ')}` };
}

function storageBlockers(input: RecoverabilityInput): string[] {
  const ns = input.instance.metadata.namespace ?? 'default';
  const out: string[] = [];
  for (const v of input.instance.spec?.volumes ?? []) {
    const vol = input.volumes.find((x) => x.metadata.name === v.name && (x.metadata.namespace ?? 'default') === ns);
    if (!vol) {
      out.push(`volume "${v.name}" does not exist`);
      continue;
    }
    const poolName = vol.spec?.pool ?? '';
    const pool = input.pools.find((p) => p.metadata.name === poolName);
    if (!pool) {
      out.push(`volume "${v.name}" is on pool "${poolName}", which does not exist`);
      continue;
    }
    const driver = pool.spec?.driver ?? '';
    const caps = input.drivers[driver];
    if (!caps) out.push(`volume "${v.name}" is on pool "${poolName}", whose driver "${driver}" is unknown`);
    else if (!caps.shared) out.push(`volume "${v.name}" is on local pool "${poolName}" (driver ${driver})`);
  }
  return out;
}

function inCluster(m: Member): boolean {
  return m.metadata.deletionTimestamp === undefined && m.status?.phase !== 'Left';
}

/** placementOf finds the placement constraint that leaves no other member, if any, and a spread group with an instance on every other candidate. */
function placementOf(input: RecoverabilityInput): { blocker?: string; spreadFull?: string } {
  const { instance } = input;
  const placement: Placement = instance.spec?.placement ?? {};
  const current = instance.status?.member;
  // An unscheduled instance lands on one of the candidates; another must remain.
  const enough = (ms: Member[]): boolean => ms.filter((m) => m.metadata.name !== current).length >= (current === undefined ? 2 : 1);
  const other = current === undefined ? 'fewer than two members' : `no member other than "${current}"`;

  const cluster = input.members.filter(inCluster);
  if (!enough(cluster))
    return {
      blocker: current === undefined ? 'the cluster has fewer than two members' : `no member other than "${current}" is in the cluster`,
    };
  const pinned = cluster.filter((m) => pinAllows(placement, m));
  if (!enough(pinned)) return { blocker: `pinned to member "${placement.member ?? ''}" by spec.placement.member` };
  const selected = pinned.filter((m) => selectorAllows(placement, m));
  if (!enough(selected)) return { blocker: `${other} ${current === undefined ? 'match' : 'matches'} spec.placement.memberSelector` };

  const group = placement.spreadGroup;
  const others = selected.filter((m) => m.metadata.name !== current);
  if (group !== undefined && others.every((m) => spreadCount(instance, m.metadata.name, input.instances) > 0)) return { spreadFull: group };
  return {};
}
