/**
 * The scheduler's decision, as a pure function: which member an instance
 * should run on, or why it must stay Pending. The scheduling reconciler feeds
 * it the informer caches and writes the answer into the Scheduled condition
 * and an Event; nothing here touches the store or the clock.
 */
import { formatBytes, parseQuantity } from '../../lib/kinds/quantity.js';
import { DEFAULT_CPU, DEFAULT_MEMORY } from '../../lib/kinds/types.js';
import type { Instance, InstanceSpec, Member } from '../../lib/kinds/types.js';
import { labelMatcherFromSelector, matchesLabels } from '../../lib/store/selectors.js';

/** DEFAULT_CPU and DEFAULT_MEMORY are the CRD defaults, used when a spec leaves them out (owned by lib/kinds/types.ts). */
export { DEFAULT_CPU, DEFAULT_MEMORY };

/** ScheduleInput: the instance to place, every member, and every existing instance (with status.member). */
export interface ScheduleInput {
  instance: Instance;
  members: Member[];
  instances: Instance[];
}

/** ScheduleFailure is the machine-readable reason an instance stays Pending (a condition `reason`). */
export type ScheduleFailure = 'MemberNotFound' | 'MemberUnavailable' | 'NoMatchingMember' | 'NoReadyMember' | 'InsufficientResources';

/** ScheduleResult is a member and a human reason, or no member and the human reason why not. */
export type ScheduleResult =
  { member: string; code: 'Scheduled'; reason: string } | { member: undefined; code: ScheduleFailure; reason: string };

/** Requests are what an instance asks for: cores and bytes. */
export interface Requests {
  cpu: number;
  memoryBytes: number;
}

/** requestsOf returns an instance's cpu and memory requests, with the CRD defaults filled in. */
export function requestsOf(instance: Instance): Requests {
  return {
    cpu: instance.spec?.cpu ?? DEFAULT_CPU,
    memoryBytes: parseQuantity(instance.spec?.memory ?? DEFAULT_MEMORY, 'spec.memory'),
  };
}

/** MemberLoad is a member's capacity (Infinity when unreported) and what its instances request. */
export interface MemberLoad {
  name: string;
  capacity: Requests;
  used: Requests;
  free: Requests;
}

function sameInstance(a: Instance, b: Instance): boolean {
  return a.metadata.name === b.metadata.name && (a.metadata.namespace ?? '') === (b.metadata.namespace ?? '');
}

/**
 * CPU_OVERCOMMIT: an instance's `cpu` is a cgroup cap, not a reservation (as
 * LXD's limits.cpu), so members take CPU limits up to this many times their
 * cores. Memory is never overcommitted.
 */
export const CPU_OVERCOMMIT = 8;

/**
 * loadOf sums the requests of the instances assigned to `member` (all of
 * them, stopped or being deleted included, until they are gone), leaving out
 * `exclude`. A capacity the member has not reported counts as unlimited.
 */
export function loadOf(member: Member, instances: Instance[], exclude?: Instance): MemberLoad {
  const cap = member.status?.capacity;
  const capacity: Requests = {
    cpu: (cap?.cpu ?? Infinity) * CPU_OVERCOMMIT,
    memoryBytes: cap?.memory === undefined ? Infinity : parseQuantity(cap.memory, 'status.capacity.memory'),
  };
  const used: Requests = { cpu: 0, memoryBytes: 0 };
  for (const inst of instances) {
    if (inst.status?.member !== member.metadata.name || (exclude && sameInstance(inst, exclude))) continue;
    const r = requestsOf(inst);
    used.cpu += r.cpu;
    used.memoryBytes += r.memoryBytes;
  }
  return {
    name: member.metadata.name,
    capacity,
    used,
    free: { cpu: capacity.cpu - used.cpu, memoryBytes: capacity.memoryBytes - used.memoryBytes },
  };
}

/** unavailability says why a member cannot take new instances, or undefined when it can. */
export function unavailability(member: Member): string | undefined {
  if (member.metadata.deletionTimestamp) return 'is being deleted';
  const phase = member.status?.phase;
  if (phase !== 'Ready') return phase ? `is ${phase}` : 'has not reported a phase yet';
  if (member.spec?.unschedulable) return 'is unschedulable';
  return undefined;
}

/** Placement is an instance's spec.placement. */
export type Placement = NonNullable<InstanceSpec['placement']>;

/** pinAllows tells whether `placement.member` lets the instance run on `member` (no pin allows every member). */
export function pinAllows(placement: Placement, member: Member): boolean {
  return placement.member === undefined || member.metadata.name === placement.member;
}

/** selectorAllows tells whether `placement.memberSelector` lets the instance run on `member` (no selector allows every member). */
export function selectorAllows(placement: Placement, member: Member): boolean {
  return (
    placement.memberSelector === undefined || matchesLabels(labelMatcherFromSelector(placement.memberSelector), member.metadata.labels)
  );
}

/**
 * spreadCount is how many other instances of `instance`'s spread group (same
 * namespace, same `placement.spreadGroup`) are assigned to `member`: 0 when
 * it has no group. The scheduler prefers the member with the fewest; spread
 * is a preference, never a limit.
 */
export function spreadCount(instance: Instance, member: string, instances: Instance[]): number {
  const group = instance.spec?.placement?.spreadGroup;
  if (group === undefined) return 0;
  const ns = instance.metadata.namespace ?? '';
  return instances.filter(
    (i) =>
      i.status?.member === member &&
      !sameInstance(i, instance) &&
      (i.metadata.namespace ?? '') === ns &&
      i.spec?.placement?.spreadGroup === group,
  ).length;
}

/** formatCpu renders cores as "1 CPU", "2 CPUs", "0.5 CPU". */
export function formatCpu(cores: number): string {
  const n = Math.round(cores * 1000) / 1000;
  return `${n} ${n === 1 || n < 1 ? 'CPU' : 'CPUs'}`;
}

function fmtFree(bytes: number): string {
  return bytes === Infinity ? 'unlimited' : formatBytes(Math.max(0, bytes));
}

function fraction(used: number, capacity: number): number {
  return capacity === Infinity || capacity <= 0 ? (capacity <= 0 ? 1 : 0) : used / capacity;
}

function insufficient(req: Requests, loads: MemberLoad[], pinned: string | undefined): string {
  const memOk = loads.filter((l) => l.free.memoryBytes >= req.memoryBytes);
  const cpuOk = loads.filter((l) => l.free.cpu >= req.cpu);
  const byMem = [...loads].sort((a, b) => b.free.memoryBytes - a.free.memoryBytes || a.name.localeCompare(b.name))[0];
  const byCpu = [...loads].sort((a, b) => b.free.cpu - a.free.cpu || a.name.localeCompare(b.name))[0];
  const mem = formatBytes(req.memoryBytes);
  const cpu = formatCpu(req.cpu);
  if (pinned !== undefined) {
    const l = loads[0];
    if (!l) return `member "${pinned}" has no room`;
    if (memOk.length === 0) return `member "${pinned}" does not have ${mem} of memory free (${fmtFree(l.free.memoryBytes)} free)`;
    return `member "${pinned}" does not have ${cpu} free (${Math.max(0, l.free.cpu)} free)`;
  }
  if (memOk.length === 0 && byMem)
    return `no member has ${mem} of memory free (largest free: ${byMem.name} with ${fmtFree(byMem.free.memoryBytes)})`;
  if (cpuOk.length === 0 && byCpu) return `no member has ${cpu} free (largest free: ${byCpu.name} with ${Math.max(0, byCpu.free.cpu)})`;
  return `no member has both ${cpu} and ${mem} of memory free`;
}

/**
 * schedule picks a member for `input.instance`:
 * 1. `placement.member` narrows the candidates to that member (it must exist);
 * 2. `placement.memberSelector` keeps members whose labels match;
 * 3. only Ready, schedulable members not being deleted remain;
 * 4. only members whose free cpu and memory (capacity minus the requests of
 *    the instances assigned there, this one excluded) cover the requests;
 * 5. among those: fewest instances of the same `placement.spreadGroup` (same
 *    namespace) first, then the lowest allocated memory fraction, then cpu
 *    fraction, then the name — so the answer is deterministic.
 * Every answer carries a human sentence for the condition and the Event.
 */
export function schedule(input: ScheduleInput): ScheduleResult {
  const { instance, members, instances } = input;
  const placement = instance.spec?.placement ?? {};
  const req = requestsOf(instance);
  let pool = [...members].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

  if (placement.member !== undefined) {
    pool = pool.filter((m) => pinAllows(placement, m));
    if (pool.length === 0) return { member: undefined, code: 'MemberNotFound', reason: `member "${placement.member}" does not exist` };
  }
  if (placement.memberSelector) {
    pool = pool.filter((m) => selectorAllows(placement, m));
    if (pool.length === 0) {
      const where = placement.member !== undefined ? `member "${placement.member}" does not match` : 'no member matches';
      return { member: undefined, code: 'NoMatchingMember', reason: `${where} the memberSelector` };
    }
  }
  const blocked = pool.map((m) => ({ name: m.metadata.name, why: unavailability(m) }));
  const eligible = pool.filter((m) => unavailability(m) === undefined);
  if (eligible.length === 0) {
    if (placement.member !== undefined)
      return {
        member: undefined,
        code: 'MemberUnavailable',
        reason: `member "${placement.member}" ${blocked[0]?.why ?? 'is unavailable'}`,
      };
    if (pool.length === 0) return { member: undefined, code: 'NoReadyMember', reason: 'there are no members' };
    const shown = blocked.slice(0, 5).map((b) => `${b.name} ${b.why}`);
    const more = blocked.length > 5 ? ` and ${blocked.length - 5} more` : '';
    return { member: undefined, code: 'NoReadyMember', reason: `no member is Ready and schedulable (${shown.join(', ')}${more})` };
  }

  const loads = eligible.map((m) => loadOf(m, instances, instance));
  const fits = loads.filter((l) => l.free.cpu >= req.cpu && l.free.memoryBytes >= req.memoryBytes);
  if (fits.length === 0) return { member: undefined, code: 'InsufficientResources', reason: insufficient(req, loads, placement.member) };

  const group = placement.spreadGroup;
  const ranked = fits
    .map((l) => ({
      l,
      spread: spreadCount(instance, l.name, instances),
      mem: fraction(l.used.memoryBytes, l.capacity.memoryBytes),
      cpu: fraction(l.used.cpu, l.capacity.cpu),
    }))
    .sort((a, b) => a.spread - b.spread || a.mem - b.mem || a.cpu - b.cpu || a.l.name.localeCompare(b.l.name));
  const best = ranked[0];
  if (!best) return { member: undefined, code: 'InsufficientResources', reason: insufficient(req, loads, placement.member) };

  const parts = [`${fits.length} of ${eligible.length} eligible members fit ${formatCpu(req.cpu)} and ${formatBytes(req.memoryBytes)}`];
  if (group !== undefined) parts.push(`fewest instances of spread group "${group}" (${best.spread})`);
  parts.push(`least loaded (${Math.round(best.mem * 100)}% of memory allocated, ${fmtFree(best.l.free.memoryBytes)} free)`);
  return { member: best.l.name, code: 'Scheduled', reason: `placed on member "${best.l.name}": ${parts.join('; ')}` };
}
