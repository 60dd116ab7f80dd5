import { expect } from 'chai';
import { EndpointHealth } from '../../../lib/store/endpoint-health.js';

const refused = (): Error => new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.0.0.3:2379');

describe('EndpointHealth', () => {
  let now = 0;
  let h: EndpointHealth;
  beforeEach(() => {
    now = 1_000_000;
    h = new EndpointHealth({ endpoints: ['a:1', 'b:1', 'c:1'], skipMs: 3000, maxSkipMs: 30_000, now: () => now });
  });

  it('passes an endpoint by for skipMs after it was unreachable, then tries it again', () => {
    h.observe('c:1', refused());
    expect(h.skip('c:1')).to.equal(true);
    expect(h.skip('a:1')).to.equal(false);
    now += 3001;
    expect(h.skip('c:1')).to.equal(false);
  });

  it('passes an endpoint by longer with each failure in a row, up to the cap, and forgets on success', () => {
    const skippedFor = (): number => {
      const start = now;
      while (h.skip('c:1')) now += 100;
      const d = now - start;
      now = start;
      return d;
    };
    const limits: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.observe('c:1', refused());
      limits.push(skippedFor());
      now += limits[limits.length - 1]! + 1;
    }
    expect(limits).to.deep.equal([3000, 6000, 12000, 24000, 30000, 30000]);
    h.observe('c:1');
    h.observe('c:1', refused());
    expect(skippedFor()).to.equal(3000);
  });

  it('never passes an endpoint by while every other one is passed by too', () => {
    h.observe('a:1', refused());
    h.observe('b:1', refused());
    expect(h.skip('a:1')).to.equal(true);
    h.observe('c:1', refused());
    expect(['a:1', 'b:1', 'c:1'].map((e) => h.skip(e))).to.deep.equal([false, false, false]);
  });

  it('does not pass an endpoint by for an error that is not about reaching it', () => {
    h.observe('c:1', new Error('etcdserver: mvcc: required revision has been compacted'));
    h.observe('b:1', new Error('3 INVALID_ARGUMENT: etcdserver: key is not provided'));
    expect(h.skip('c:1')).to.equal(false);
    expect(h.skip('b:1')).to.equal(false);
  });

  it('takes an endpoint back at once when a call through it succeeds', () => {
    h.observe('c:1', refused());
    h.observe('c:1');
    expect(h.skip('c:1')).to.equal(false);
  });

  it("builds a policy that refuses a passed-by endpoint without calling through (the pool then tries the next) and records outcomes", async () => {
    const c = h.policy('c:1');
    await c.execute(() => Promise.reject(refused())).catch(() => undefined);
    let called = false;
    const err = await c
      .execute(() => {
        called = true;
        return 1;
      })
      .catch((e: unknown) => e);
    expect(called).to.equal(false);
    expect(err).to.be.instanceOf(Error).with.property('code', 'Unavailable');
    expect(await h.policy('a:1').execute(() => 7)).to.equal(7);
  });
});
