/**
 * Which member's exclusive mount of a shared volume may be broken, as a pure
 * decision (DESIGN.md §5). A shared volume (ceph) is mounted read-write by
 * one member at a time; its lock names that member. Another member may break
 * the lock only when the holder is lost — the same test the failover
 * controller uses to move instances off it (`memberLost`): its Member is
 * gone, NotReady, Left, or Ready=False with reason HeartbeatLost. A lost
 * member has fenced its failover instances before its lease could expire, so
 * nothing of it still writes on purpose; the driver blocklists its client as
 * it breaks the lock so that nothing can.
 *
 * `status.fenced` alone is not a reason: a member that writes it has its
 * heartbeat again, its agent removes the stale copy and so releases the
 * volume itself within a reconcile, and breaking its lock would also cut off
 * volumes of its instances that were never fenced (recovery restart/none
 * keep running through a fence). A Ready member's lock is never broken.
 */
import type { Member } from '../../lib/kinds/types.js';
import { memberLost } from '../membership/failover-plan.js';

/** LockBreakDecision says whether the lock of `holder` may be broken, and why (for messages and Events). */
export interface LockBreakDecision {
  allowed: boolean;
  reason: string;
}

/** decideLockBreak tells whether member `self` may break `holder`'s lock on a shared volume; see the file comment. */
export function decideLockBreak(holder: string, input: { self: string; members: readonly Member[] }): LockBreakDecision {
  if (holder === input.self) return { allowed: false, reason: `member ${holder} is this member: its own lock is kept, never broken` };
  const member = input.members.find((m) => m.metadata.name === holder);
  if (!member) return { allowed: true, reason: `member ${holder} does not exist any more` };
  const phase = member.status?.phase ?? 'unknown';
  if (memberLost(member))
    return {
      allowed: true,
      reason: phase === 'NotReady' || phase === 'Left' ? `member ${holder} is ${phase}` : `member ${holder} lost its heartbeat`,
    };
  const fenced = member.status?.fenced === true ? ' (it fenced some instances, and releases their volumes itself)' : '';
  return { allowed: false, reason: `member ${holder} is ${phase}${fenced}` };
}
