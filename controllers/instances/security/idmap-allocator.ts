/**
 * IdmapAllocator hands out private id ranges cluster-wide, in the raw key
 * space of the store: one key per claimed range
 * (`/cloudlet/idmaps/<hostId>` → `<namespace>/<name>/<uid>`). Claiming is a
 * create-if-absent, so two members can never give one range to two
 * instances; the owner's uid in the value makes a re-created instance of the
 * same name a different owner. The shared default map is not stored.
 */
import { ConflictError } from '../../../lib/errors.js';
import { IDMAP_PREFIX } from '../../../lib/store/key-space.js';
import type { RawKV } from '../../../lib/store/types.js';
import { DEFAULT_SUBID_RANGE, IDMAP_SIZE, pickIsolatedBase, type IdMap, type SubidRange } from './idmap.js';

/** IdmapOwner is the instance holding a range. */
export interface IdmapOwner {
  namespace: string;
  name: string;
  uid: string;
}

/** idmapOwnerText encodes an owner as the key's value. */
export function idmapOwnerText(o: IdmapOwner): string {
  return `${o.namespace}/${o.name}/${o.uid}`;
}

/** idmapKey is the key of the range starting at `hostId`. */
export function idmapKey(hostId: number): string {
  return `${IDMAP_PREFIX}${hostId}`;
}

/** IdmapAllocator allocates and releases private ranges; both verbs are idempotent per owner. */
export class IdmapAllocator {
  private readonly raw: RawKV;
  private readonly range: SubidRange;
  private readonly maxPasses: number;

  constructor(opts: { raw: RawKV; range?: SubidRange; maxPasses?: number }) {
    this.raw = opts.raw;
    this.range = opts.range ?? DEFAULT_SUBID_RANGE;
    this.maxPasses = opts.maxPasses ?? 8;
  }

  private async claims(): Promise<Array<{ hostId: number; owner: string }>> {
    const { entries } = await this.raw.list(IDMAP_PREFIX);
    return entries.map((e) => ({ hostId: Number(e.key.slice(IDMAP_PREFIX.length)), owner: e.value }));
  }

  /**
   * allocate returns the owner's private range, claiming the lowest free one
   * when it holds none. IdmapExhaustedError when none is free; ConflictError
   * when other allocators kept winning the race for `maxPasses` passes.
   */
  async allocate(owner: IdmapOwner): Promise<IdMap> {
    const me = idmapOwnerText(owner);
    for (let pass = 0; pass < this.maxPasses; pass++) {
      const claims = await this.claims();
      const mine = claims.find((c) => c.owner === me);
      if (mine) return { hostId: mine.hostId, size: IDMAP_SIZE, isolated: true };
      const base = pickIsolatedBase({ range: this.range, claimed: claims.map((c) => c.hostId) });
      if (await this.raw.claim(idmapKey(base), me)) return { hostId: base, size: IDMAP_SIZE, isolated: true };
    }
    throw new ConflictError(
      `could not claim a private id range for ${owner.namespace}/${owner.name} after ${this.maxPasses} attempts: other instances kept taking the free ones`,
    );
  }

  /** release gives back every range the owner holds; holding none is success. */
  async release(owner: IdmapOwner): Promise<void> {
    const me = idmapOwnerText(owner);
    for (const c of await this.claims()) if (c.owner === me) await this.raw.delete(idmapKey(c.hostId), { ifValue: me });
  }

  /** holders lists every claimed range and its owner text (for describe and tests). */
  async holders(): Promise<Array<{ hostId: number; owner: string }>> {
    return this.claims();
  }
}
