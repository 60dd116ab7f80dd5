import { expect } from 'chai';
import { isCode } from '../../../../lib/errors.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import { withMutex } from '../../../../lib/store/mutex.js';

const KEY = '/cloudlet/locks/test';

describe('withMutex over a MemoryStore', () => {
  it('runs holders one at a time and releases the key after each', async () => {
    const store = new MemoryStore();
    const log: string[] = [];
    let inside = 0;
    const holder = (name: string) =>
      withMutex({ store, key: KEY, holder: name, pollMs: 5 }, async () => {
        inside++;
        expect(inside, 'two holders inside at once').to.equal(1);
        log.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 20));
        log.push(`${name} out`);
        inside--;
        return name;
      });
    const results = await Promise.all([holder('a'), holder('b'), holder('c')]);
    expect(results).to.deep.equal(['a', 'b', 'c']);
    for (let i = 0; i < log.length; i += 2) expect(log[i + 1]).to.equal(log[i]!.replace(' in', ' out'));
    expect(await store.raw.get(KEY)).to.equal(undefined);
  });

  it('releases the key when the holder throws, and rethrows', async () => {
    const store = new MemoryStore();
    const err = await withMutex({ store, key: KEY, holder: 'a' }, async () => {
      throw new Error('boom');
    }).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('boom');
    expect(await store.raw.get(KEY)).to.equal(undefined);
  });

  it('gives up after waitMs with an UnavailableError that names the holder, and changes nothing', async () => {
    const store = new MemoryStore();
    let release: () => void = () => undefined;
    const held = withMutex({ store, key: KEY, holder: 'the join of m2' }, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 10));
    const waits: string[] = [];
    let ran = false;
    const err = await withMutex(
      { store, key: KEY, holder: 'the removal of m3', waitMs: 50, pollMs: 5, onWait: (h) => waits.push(h) },
      async () => {
        ran = true;
      },
    ).catch((e: unknown) => e);
    expect(isCode(err, 'Unavailable')).to.equal(true);
    expect((err as Error).message).to.contain('the join of m2');
    expect(waits).to.deep.equal(['the join of m2']);
    expect(ran).to.equal(false);
    release();
    await held;
    expect(await store.raw.get(KEY)).to.equal(undefined);
  });
});
