import { expect } from 'chai';
import {
  covers,
  IDMAP_SIZE,
  IdmapExhaustedError,
  isolatedSlots,
  parseSubids,
  pickIsolatedBase,
  sharedIdmap,
} from '../../../../../controllers/instances/security/idmap.js';
import { IdmapAllocator } from '../../../../../controllers/instances/security/idmap-allocator.js';
import { MemoryStore } from '../../../../../lib/store/memory-store.js';

const range = { start: 1_000_000, count: 4 * IDMAP_SIZE };

describe('id maps', () => {
  it('gives ordinary instances the first block of the range as their shared map', () => {
    expect(sharedIdmap(range)).to.deep.equal({ hostId: 1_000_000, size: 65536, isolated: false });
  });

  const picks: Array<{ claimed: number[]; want: number | 'exhausted' }> = [
    { claimed: [], want: 1_000_000 + IDMAP_SIZE },
    { claimed: [1_000_000 + IDMAP_SIZE], want: 1_000_000 + 2 * IDMAP_SIZE },
    { claimed: [1_000_000 + 2 * IDMAP_SIZE], want: 1_000_000 + IDMAP_SIZE },
    { claimed: [1_000_000 + IDMAP_SIZE, 1_000_000 + 2 * IDMAP_SIZE], want: 1_000_000 + 3 * IDMAP_SIZE },
    { claimed: [1_000_000 + IDMAP_SIZE, 1_000_000 + 2 * IDMAP_SIZE, 1_000_000 + 3 * IDMAP_SIZE], want: 'exhausted' },
  ];
  for (const p of picks) {
    it(`picks ${String(p.want)} when ${p.claimed.length} private ranges are claimed`, () => {
      if (p.want === 'exhausted') {
        expect(() => pickIsolatedBase({ range, claimed: p.claimed })).to.throw(
          IdmapExhaustedError,
          /no private id range is left: all 3 ranges/,
        );
      } else {
        expect(pickIsolatedBase({ range, claimed: p.claimed })).to.equal(p.want);
      }
    });
  }

  it('never hands out the shared block or ids beyond the range', () => {
    expect(isolatedSlots(range)).to.equal(3);
    expect(isolatedSlots({ start: 0, count: IDMAP_SIZE - 1 })).to.equal(0);
  });

  it("reads root's ranges from /etc/subuid text and checks a map against them", () => {
    const ranges = parseSubids('alice:100000:65536\nroot:1000000:1000000000\nbad line\nroot:x:1\n');
    expect(ranges).to.deep.equal([{ start: 1_000_000, count: 1_000_000_000 }]);
    expect(covers(ranges, { hostId: 1_000_000, size: IDMAP_SIZE })).to.equal(true);
    expect(covers(ranges, { hostId: 999_999, size: IDMAP_SIZE })).to.equal(false);
    expect(covers([], { hostId: 1_000_000, size: IDMAP_SIZE })).to.equal(false);
  });
});

describe('IdmapAllocator', () => {
  const owner = (name: string, uid = `uid-${name}`) => ({ namespace: 'default', name, uid });

  it('allocates distinct ranges, returns the same one again to its owner, and releases it on delete', async () => {
    const alloc = new IdmapAllocator({ raw: new MemoryStore().raw, range });
    const a = await alloc.allocate(owner('a'));
    const b = await alloc.allocate(owner('b'));
    expect(a.hostId).to.not.equal(b.hostId);
    expect(a.isolated).to.equal(true);
    expect(await alloc.allocate(owner('a'))).to.deep.equal(a);
    await alloc.release(owner('a'));
    await alloc.release(owner('a'));
    expect((await alloc.holders()).map((h) => h.owner)).to.deep.equal(['default/b/uid-b']);
    // A re-created instance of the same name is another owner: it gets the lowest free range.
    expect((await alloc.allocate(owner('a', 'uid-2'))).hostId).to.equal(a.hostId);
  });

  it('never gives one range to two owners allocating at once, and says so clearly when none is left', async () => {
    const alloc = new IdmapAllocator({ raw: new MemoryStore().raw, range });
    const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((n) => alloc.allocate(owner(n))));
    const got = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.hostId] : []));
    expect(new Set(got).size).to.equal(got.length);
    expect(got).to.have.length(3);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failed).to.have.length(2);
    for (const m of failed) expect(m).to.match(/no private id range is left|other instances kept taking/);
    await alloc.release(owner('a'));
    expect((await alloc.allocate(owner('f'))).hostId).to.be.a('number');
  });
});
