import { expect } from 'chai';
import { type Observable, Subject, firstValueFrom, take, toArray } from 'rxjs';
import { WatchHub } from '../../../../lib/store/watch-hub.js';
import type { KvEvent } from '../../../../lib/store/backend.js';
import { GoneError } from '../../../../lib/errors.js';
import { silentLogger } from '../../../../lib/log/logger.js';

function ev(revision: number): KvEvent {
  return { type: 'PUT', kv: { key: `/p/k${revision}`, value: 'v', createRevision: revision, modRevision: revision, lease: '0' }, revision };
}

/** a fake upstream: records every watch opened and lets the test push events into it */
function fakeSource(): { opened: number[]; live: Subject<KvEvent>[]; source: (p: string, from: number) => Observable<KvEvent> } {
  const opened: number[] = [];
  const live: Subject<KvEvent>[] = [];
  return {
    opened,
    live,
    source: (_p, from) => {
      opened.push(from);
      const s = new Subject<KvEvent>();
      live.push(s);
      return s.asObservable();
    },
  };
}

describe('WatchHub', () => {
  it('shares one upstream watch between subscribers and replays its window to late ones', async () => {
    const f = fakeSource();
    const hub = new WatchHub({ prefix: '/p/', source: f.source, logger: silentLogger(), windowSize: 10 });
    const first = firstValueFrom(hub.watch(5).pipe(take(3), toArray()));
    f.live[0]?.next(ev(6));
    f.live[0]?.next(ev(7));
    const late = firstValueFrom(hub.watch(6).pipe(take(2), toArray()));
    f.live[0]?.next(ev(8));
    expect((await first).map((e) => e.revision)).to.deep.equal([6, 7, 8]);
    expect((await late).map((e) => e.revision)).to.deep.equal([7, 8]);
    expect(f.opened).to.deep.equal([5]);
  });

  it('opens a dedicated upstream for a revision older than its window', () => {
    const f = fakeSource();
    const hub = new WatchHub({ prefix: '/p/', source: f.source, logger: silentLogger(), windowSize: 2 });
    const sub = hub.watch(10).subscribe();
    for (let r = 11; r <= 16; r++) f.live[0]?.next(ev(r));
    const old = hub.watch(11).subscribe();
    expect(f.opened).to.deep.equal([10, 11]);
    old.unsubscribe();
    sub.unsubscribe();
  });

  it('stops the upstream with the last subscriber and restarts it lazily', () => {
    const f = fakeSource();
    const hub = new WatchHub({ prefix: '/p/', source: f.source, logger: silentLogger() });
    const a = hub.watch(1).subscribe();
    const b = hub.watch(1).subscribe();
    expect(f.live[0]?.observed).to.equal(true);
    a.unsubscribe();
    b.unsubscribe();
    expect(f.live[0]?.observed).to.equal(false);
    expect(hub.subscriberCount).to.equal(0);
    hub.watch(3).subscribe().unsubscribe();
    expect(f.opened).to.deep.equal([1, 3]);
  });

  it('passes an upstream GoneError to every subscriber', async () => {
    const f = fakeSource();
    const hub = new WatchHub({ prefix: '/p/', source: f.source, logger: silentLogger() });
    const a = firstValueFrom(hub.watch(1)).catch((e: unknown) => e);
    const b = firstValueFrom(hub.watch(2)).catch((e: unknown) => e);
    f.live[0]?.error(new GoneError('too old'));
    expect(await a).to.be.instanceOf(GoneError);
    expect(await b).to.be.instanceOf(GoneError);
  });
});
