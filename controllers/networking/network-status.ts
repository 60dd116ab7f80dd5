/**
 * Pure status arithmetic for Networks: merging one member's report into
 * `status.members[]` and deriving the phase from the Ready members' reports.
 */
import type { NetworkStatus } from '../../lib/kinds/types.js';

/** MemberReport is one member's view of a network. */
export interface MemberReport {
  name: string;
  ready: boolean;
  message?: string;
}

/** mergeMemberReport replaces (or adds) one member's entry, dropping entries of members no longer present; sorted by name. */
export function mergeMemberReport(
  current: NetworkStatus['members'],
  report: MemberReport | undefined,
  present: string[],
  self: string,
): MemberReport[] {
  const keep = (current ?? [])
    .filter((m) => m.name !== self && present.includes(m.name))
    .map((m) => ({ name: m.name, ready: m.ready ?? false, ...(m.message ? { message: m.message } : {}) }));
  const all = report ? [...keep, report] : keep;
  return all.sort((a, b) => a.name.localeCompare(b.name));
}

/** networkPhase: Ready when every reporting member is ready, Degraded when some are, NotReady when none (Pending when none reported). */
export function networkPhase(members: MemberReport[]): NonNullable<NetworkStatus['phase']> {
  if (members.length === 0) return 'Pending';
  const ready = members.filter((m) => m.ready).length;
  return ready === members.length ? 'Ready' : ready > 0 ? 'Degraded' : 'NotReady';
}
