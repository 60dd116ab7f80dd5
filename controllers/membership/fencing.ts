/**
 * Fencing arithmetic (DESIGN.md §5). etcd starts a lease's TTL again when it
 * receives a keep-alive, which is after we sent it; so the lease cannot
 * expire before `send time of the last acknowledged keep-alive + TTL`. A
 * member that cannot renew must have stopped its failover instances before
 * that moment, minus a safety margin for stopping them.
 */

/** DEFAULT_FENCE_MARGIN_MS is how long before possible expiry a member fences itself. */
export const DEFAULT_FENCE_MARGIN_MS = 1500;

/** fenceDeadline is the clock time by which a member must have fenced itself if no keep-alive is acknowledged meanwhile. */
export function fenceDeadline(opts: { lastAckedSendAt: number; ttlSeconds: number; marginMs?: number }): number {
  const margin = Math.min(opts.marginMs ?? DEFAULT_FENCE_MARGIN_MS, (opts.ttlSeconds * 1000) / 2);
  return opts.lastAckedSendAt + opts.ttlSeconds * 1000 - margin;
}

/** mustFence tells whether, at `now`, the member must stop its failover instances. */
export function mustFence(opts: { now: number; lastAckedSendAt: number; ttlSeconds: number; marginMs?: number }): boolean {
  return opts.now >= fenceDeadline(opts);
}
