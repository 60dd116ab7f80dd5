/**
 * Pure decisions for StoragePool: the driver's plain spec, which members
 * provide the pool, each member's status entry and the pool-level phase.
 */
import { ValidationError } from '../../lib/errors.js';
import { formatBytes, parseQuantity } from '../../lib/kinds/quantity.js';
import type { PoolMemberStatus, StoragePool, StoragePoolStatus } from '../../lib/kinds/types.js';
import type { PoolObservation, PoolSpec } from './drivers/types.js';

/** POOL_FINALIZER_PREFIX + member name is the finalizer each member holds until its part of the pool is torn down. */
export const POOL_FINALIZER_PREFIX = 'storage.cloudlet.dev/pool-';

/** poolFinalizer names the finalizer of `member`. */
export function poolFinalizer(member: string): string {
  return POOL_FINALIZER_PREFIX + member;
}

/** toPoolSpec turns a StoragePool into the driver's plain spec; a bad size throws ValidationError. */
export function toPoolSpec(pool: StoragePool): PoolSpec {
  const spec: PoolSpec = { name: pool.metadata.name, config: { ...(pool.spec?.config ?? {}) } };
  if (pool.spec?.size !== undefined) spec.sizeBytes = parseQuantity(pool.spec.size, 'spec.size');
  if (pool.spec?.source !== undefined) {
    if (!pool.spec.source.startsWith('/')) throw new ValidationError(`spec.source "${pool.spec.source}" must be an absolute path`);
    spec.source = pool.spec.source;
  }
  return spec;
}

/** selectedMembers lists the members that provide the pool: spec.members, or every known member when empty. */
export function selectedMembers(pool: StoragePool, known: readonly string[]): string[] {
  const wanted = pool.spec?.members;
  return (wanted && wanted.length > 0 ? [...wanted] : [...known]).sort();
}

/** isSelected tells whether `member` provides the pool. */
export function isSelected(pool: StoragePool, member: string): boolean {
  const wanted = pool.spec?.members;
  return !wanted || wanted.length === 0 || wanted.includes(member);
}

/** memberEntry renders one member's observation as its status entry. */
export function memberEntry(name: string, obs: PoolObservation): PoolMemberStatus {
  const e: PoolMemberStatus = { name, ready: obs.ready, message: obs.message };
  if (obs.capacityBytes !== undefined) e.capacity = formatBytes(obs.capacityBytes);
  if (obs.usedBytes !== undefined) e.used = formatBytes(obs.usedBytes);
  return e;
}

/** withEntry returns the entries with `entry` replacing its member's (or added), sorted by name. */
export function withEntry(entries: readonly PoolMemberStatus[] | undefined, entry: PoolMemberStatus): PoolMemberStatus[] {
  return [...(entries ?? []).filter((e) => e.name !== entry.name), entry].sort((a, b) => a.name.localeCompare(b.name));
}

/** withoutEntry returns the entries without `member`'s. */
export function withoutEntry(entries: readonly PoolMemberStatus[] | undefined, member: string): PoolMemberStatus[] {
  return (entries ?? []).filter((e) => e.name !== member);
}

/** PoolPhaseDecision is the pool-level phase and why. */
export interface PoolPhaseDecision {
  phase: NonNullable<StoragePoolStatus['phase']>;
  message: string;
}

/**
 * poolPhase: Ready when every selected member reports ready; Degraded when
 * some do; NotReady when none does but some reported; Pending when no
 * selected member has reported yet. Deleting wins while being deleted.
 */
export function poolPhase(opts: {
  selected: readonly string[];
  entries: readonly PoolMemberStatus[];
  deleting?: boolean;
}): PoolPhaseDecision {
  if (opts.deleting) return { phase: 'Deleting', message: 'the pool is being torn down on its members' };
  const byName = new Map(opts.entries.map((e) => [e.name, e]));
  const reported = opts.selected.filter((m) => byName.has(m));
  const ready = reported.filter((m) => byName.get(m)?.ready === true);
  const notReady = reported.filter((m) => byName.get(m)?.ready !== true);
  if (opts.selected.length === 0) return { phase: 'Pending', message: 'no member provides this pool' };
  if (reported.length === 0) return { phase: 'Pending', message: 'waiting for members to report' };
  if (ready.length === opts.selected.length) return { phase: 'Ready', message: `ready on ${ready.length} member(s)` };
  const why = notReady.map((m) => `${m}: ${byName.get(m)?.message ?? 'not ready'}`).join('; ');
  if (ready.length > 0)
    return { phase: 'Degraded', message: `ready on ${ready.join(', ')}; not ready on ${why || 'members that have not reported'}` };
  return { phase: 'NotReady', message: why || 'no member is ready' };
}
