import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { EndpointHealth, tcpProbe } from '../../../../lib/store/endpoint-health.js';

const refused = (): Error => new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.0.0.3:2379');

describe('EndpointHealth', () => {
  let now = 0;
  let h: EndpointHealth;
  let reachable: Set<string>;
  let timers: Array<() => void>;
  /** tick fires the pending probe timers and lets their probes answer. */
  const tick = async (): Promise<void> => {
    for (const t of timers.splice(0)) t();
    await new Promise((r) => setImmediate(r));
  };

  beforeEach(() => {
    now = 1_000_000;
    reachable = new Set(['a:1', 'b:1']);
    timers = [];
    h = new EndpointHealth({
      endpoints: ['a:1', 'b:1', 'c:1'],
      skipMs: 3000,
      maxSkipMs: 30_000,
      probe: async (e) => reachable.has(e),
      now: () => now,
      setTimer: (fn) => void timers.push(fn),
    });
  });

  it('passes an unreachable endpoint by until a TCP connection to it succeeds again, however long that takes', async () => {
    h.observe('c:1', refused());
    expect(h.skip('c:1')).to.equal(true);
    expect(h.skip('a:1')).to.equal(false);
    now += 60_000;
    await tick();
    expect(h.skip('c:1'), 'still unreachable').to.equal(true);
    reachable.add('c:1');
    await tick();
    expect(h.skip('c:1')).to.equal(false);
  });

  it('passes an endpoint that accepts connections but fails calls by for skipMs, doubling per failure in a row up to the cap', async () => {
    reachable.add('c:1');
    const skippedFor = async (): Promise<number> => {
      await tick();
      const start = now;
      while (h.skip('c:1')) now += 100;
      return now - start;
    };
    const spans: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.observe('c:1', refused());
      spans.push(await skippedFor());
    }
    expect(spans).to.deep.equal([3000, 6000, 12000, 24000, 30000, 30000]);
    h.observe('c:1');
    h.observe('c:1', refused());
    expect(await skippedFor()).to.equal(3000);
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

  it('builds a policy that refuses a passed-by endpoint without calling through (the pool then tries the next) and records outcomes', async () => {
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

  describe('tcpProbe', () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = createServer((s) => s.destroy());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      port = (server.address() as { port: number }).port;
    });
    after(() => server.close());

    it('tells a listening endpoint from a closed one', async () => {
      expect(await tcpProbe(`127.0.0.1:${port}`)).to.equal(true);
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
      const closedPort = (closed.address() as { port: number }).port;
      await new Promise<void>((r) => closed.close(() => r()));
      expect(await tcpProbe(`127.0.0.1:${closedPort}`)).to.equal(false);
      expect(await tcpProbe('not an endpoint')).to.equal(false);
    });
  });
});
