/**
 * User-namespace id maps as pure functions. Every unprivileged instance maps
 * its ids 0..size-1 to host ids hostId..hostId+size-1, for users and groups
 * alike, taken from the subordinate range reserved for root in /etc/subuid
 * and /etc/subgid (deploy/subids.sh). The first `size` ids of that range are
 * the shared default map; the rest is cut into private ranges of `size` ids
 * for instances with `spec.security.isolatedIdmap` (allocated in etcd, see
 * idmap-allocator.ts).
 */
import { UnavailableError } from '../../../lib/errors.js';

/** IDMAP_SIZE is the number of ids an instance sees (0..65535), as on LXD. */
export const IDMAP_SIZE = 65536;

/** SubidRange is a contiguous range of host ids. */
export interface SubidRange {
  start: number;
  count: number;
}

/** DEFAULT_SUBID_RANGE is what deploy/subids.sh reserves for root: 1,000,000 ids from 1,000,000. */
export const DEFAULT_SUBID_RANGE: SubidRange = { start: 1_000_000, count: 1_000_000_000 };

/** IdMap is an instance's map: container ids 0..size-1 are host ids hostId.. (users and groups). */
export interface IdMap {
  hostId: number;
  size: number;
  /** isolated: a private range no other instance uses */
  isolated: boolean;
}

/** sharedIdmap is the default map every ordinary unprivileged instance shares: the first block of the range. */
export function sharedIdmap(range: SubidRange = DEFAULT_SUBID_RANGE): IdMap {
  return { hostId: range.start, size: IDMAP_SIZE, isolated: false };
}

/** isolatedSlots is how many private ranges fit in `range` after the shared block. */
export function isolatedSlots(range: SubidRange): number {
  return Math.max(0, Math.floor(range.count / IDMAP_SIZE) - 1);
}

/**
 * pickIsolatedBase chooses the lowest free private range given the bases
 * already claimed; throws IdmapExhaustedError when none is left (an
 * UnavailableError: the instance waits, saying why, until a range is freed).
 */
export function pickIsolatedBase(opts: { range: SubidRange; claimed: Iterable<number> }): number {
  const taken = new Set(opts.claimed);
  const slots = isolatedSlots(opts.range);
  for (let i = 1; i <= slots; i++) {
    const base = opts.range.start + i * IDMAP_SIZE;
    if (!taken.has(base)) return base;
  }
  throw new IdmapExhaustedError(opts.range, slots);
}

/** IdmapExhaustedError: every private id range of the subordinate range is taken. */
export class IdmapExhaustedError extends UnavailableError {
  constructor(range: SubidRange, slots: number) {
    super(
      `no private id range is left: all ${slots} ranges of ${IDMAP_SIZE} ids in root's subordinate range ${range.start}-${range.start + range.count - 1} are in use by instances with spec.security.isolatedIdmap; delete some, or enlarge the range in /etc/subuid and /etc/subgid (deploy/subids.sh)`,
    );
  }
}

/** parseSubids reads root's ranges from /etc/subuid or /etc/subgid text (`name:start:count` lines). */
export function parseSubids(text: string, user = 'root'): SubidRange[] {
  const out: SubidRange[] = [];
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== user || start === undefined || count === undefined) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** covers tells whether one of `ranges` holds all of [hostId, hostId+size). */
export function covers(ranges: SubidRange[], map: Pick<IdMap, 'hostId' | 'size'>): boolean {
  return ranges.some((r) => r.start <= map.hostId && map.hostId + map.size <= r.start + r.count);
}
