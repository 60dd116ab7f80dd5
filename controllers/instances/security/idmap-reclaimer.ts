/**
 * IdmapReclaimer (leader-only) gives back private id ranges whose instance is
 * gone without releasing them — its finalizer removed by hand, or its member
 * lost before the agent released the range. A claim is reclaimed only when
 * the instance cache has seen everything up to the claim's revision and
 * holds no instance with that namespace, name and uid: an instance exists
 * before its agent claims a range, so a cache synced past the claim would
 * hold it if it were alive. The delete compares the owner, so a range
 * re-claimed meanwhile is left alone. Runs on every instance delete and
 * every RECLAIM_PERIOD_MS.
 */
import type { Informer } from '../../../lib/controller/informer.js';
import type { Reconciler, ReconcileContext, Request, Result } from '../../../lib/controller/reconciler.js';
import type { Instance } from '../../../lib/kinds/types.js';
import type { Logger } from '../../../lib/log/logger.js';
import { IDMAP_PREFIX } from '../../../lib/store/key-space.js';
import type { RawEntry, RawKV } from '../../../lib/store/types.js';

/** RECLAIM_PERIOD_MS: how often every claim is checked even without an instance delete. */
export const RECLAIM_PERIOD_MS = 10 * 60_000;

/** RECLAIM_KEY is the one key the reclaimer's controller works on. */
export const RECLAIM_KEY: Request = { name: 'idmaps' };

/** orphanedClaims picks the claims whose owner the cache (synced to `cacheRevision`) does not hold. Pure. */
export function orphanedClaims(
  claims: readonly RawEntry[],
  cacheRevision: string,
  alive: (namespace: string, name: string, uid: string) => boolean,
): RawEntry[] {
  return claims.filter((c) => {
    if (BigInt(c.revision) > BigInt(cacheRevision)) return false;
    const [namespace, name, uid] = c.value.split('/');
    if (!namespace || !name || !uid) return false;
    return !alive(namespace, name, uid);
  });
}

/** IdmapReclaimer: see the file comment. */
export class IdmapReclaimer implements Reconciler {
  constructor(private readonly o: { raw: RawKV; instances: Informer<Instance>; logger: Logger }) {}

  async reconcile(_req: Request, _ctx: ReconcileContext): Promise<Result> {
    if (!this.o.instances.hasSynced()) return { requeueAfter: 1000 };
    const cacheRevision = this.o.instances.lastSyncResourceVersion();
    const { entries } = await this.o.raw.list(IDMAP_PREFIX);
    const alive = (namespace: string, name: string, uid: string): boolean =>
      this.o.instances.listShared((i) => i.metadata.namespace === namespace && i.metadata.name === name && i.metadata.uid === uid).length >
      0;
    for (const claim of orphanedClaims(entries, cacheRevision, alive)) {
      if (await this.o.raw.delete(claim.key, { ifValue: claim.value })) {
        this.o.logger.info('reclaimed the private id range of a gone instance', {
          range: claim.key.slice(IDMAP_PREFIX.length),
          owner: claim.value,
        });
      }
    }
    return { requeueAfter: RECLAIM_PERIOD_MS };
  }
}
