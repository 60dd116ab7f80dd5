import { expect } from 'chai';
import { Subject } from 'rxjs';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import { RawPrefixSource } from '../../../../lib/controller/raw-source.js';
import { GoneError, UnavailableError } from '../../../../lib/errors.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import type { RawEntry, RawEvent, RawKV } from '../../../../lib/store/types.js';
import { captureLogger, counterValue } from './helpers.js';

/** ScriptedRaw: a key space whose watches the test feeds and breaks by hand. */
class ScriptedRaw implements Pick<RawKV, 'list' | 'watch'> {
  revision = 10;
  entries = new Map<string, RawEntry>();
  watches: Array<{ from: string; feed: Subject<RawEvent> }> = [];
  listFailures = 0;

  set(key: string, value: string): RawEvent {
    this.revision++;
    this.entries.set(key, { key, value, revision: String(this.revision), lease: '0' });
    return { type: 'PUT', key, value, revision: String(this.revision) };
  }
  remove(key: string): RawEvent {
    this.revision++;
    this.entries.delete(key);
    return { type: 'DELETE', key, value: '', revision: String(this.revision) };
  }
  async list(prefix: string): Promise<{ entries: RawEntry[]; revision: string }> {
    if (this.listFailures > 0) {
      this.listFailures--;
      throw new UnavailableError('connection refused');
    }
    return { entries: [...this.entries.values()].filter((e) => e.key.startsWith(prefix)), revision: String(this.revision) };
  }
  watch(_prefix: string, fromRevision: string): Subject<RawEvent> {
    const feed = new Subject<RawEvent>();
    this.watches.push({ from: fromRevision, feed });
    return feed;
  }
  current(): Subject<RawEvent> {
    const w = this.watches[this.watches.length - 1];
    if (!w) throw new Error('no watch open');
    return w.feed;
  }
}

function setup(): {
  raw: ScriptedRaw;
  clock: FakeClock;
  got: string[];
  source: RawPrefixSource;
  metrics: ReturnType<typeof createMetrics>;
  records: ReturnType<typeof captureLogger>['records'];
} {
  const raw = new ScriptedRaw();
  const clock = new FakeClock();
  const metrics = createMetrics();
  const { logger, records } = captureLogger();
  const got: string[] = [];
  const source = new RawPrefixSource({
    raw,
    prefix: '/p/',
    onEvent: (ev) => got.push(`${ev.type} ${ev.key}`),
    clock,
    logger,
    metrics,
    component: 'test',
  });
  return { raw, clock, got, source, metrics, records };
}

describe('RawPrefixSource', () => {
  it('delivers the listed keys, then every watched change once', async () => {
    const { raw, got, source } = setup();
    raw.set('/p/a', '1');
    source.start();
    await flushPromises();
    expect(raw.watches.map((w) => w.from)).to.deep.equal([String(raw.revision)]);
    const put = raw.set('/p/b', '1');
    raw.current().next(put);
    raw.current().next(put); // a duplicate from the watch is dropped
    raw.current().next(raw.set('/p/a', '2'));
    raw.current().next(raw.remove('/p/b'));
    raw.current().next({ type: 'DELETE', key: '/p/never', value: '', revision: '99' });
    expect(got).to.deep.equal(['PUT /p/a', 'PUT /p/b', 'PUT /p/a', 'DELETE /p/b']);
    await source.stop();
  });

  it('lists again after GoneError and delivers only what changed meanwhile', async () => {
    const { raw, clock, got, source, records } = setup();
    raw.set('/p/same', '1');
    raw.set('/p/changed', '1');
    raw.set('/p/deleted', '1');
    source.start();
    await flushPromises();
    got.length = 0;
    // While the watch was behind a compaction: one change, one deletion, one new key.
    raw.set('/p/changed', '2');
    raw.remove('/p/deleted');
    raw.set('/p/new', '1');
    raw.current().error(new GoneError('too old resource version'));
    await clock.advanceAsync(10_000);
    expect(source.lists).to.equal(2);
    expect(got.sort()).to.deep.equal(['DELETE /p/deleted', 'PUT /p/changed', 'PUT /p/new']);
    expect(raw.watches.map((w) => w.from)).to.deep.equal(['13', String(raw.revision)]);
    expect(records.some((r) => r.message.includes('compaction'))).to.equal(true);
    await source.stop();
  });

  it('resubscribes after a watch error and a failed list, waiting a backoff each time, and counts the errors', async () => {
    const { raw, clock, got, source, metrics, records } = setup();
    source.start();
    await flushPromises();
    raw.listFailures = 1;
    raw.current().error(new UnavailableError('connection refused'));
    await flushPromises();
    // nothing is listed again before the backoff has passed
    expect(source.lists).to.equal(1);
    await clock.advanceAsync(60_000);
    expect(source.lists).to.equal(2);
    expect(raw.watches).to.have.length(2);
    raw.current().next(raw.set('/p/a', '1'));
    expect(got).to.deep.equal(['PUT /p/a']);
    expect(await counterValue(metrics, 'errors', { component: 'test' })).to.equal(2);
    expect(records.filter((r) => r.level === 'warn')).to.have.length(2);
    await source.stop();
  });

  it('relists when the watch ends, and delivers nothing after stop', async () => {
    const { raw, clock, got, source } = setup();
    source.start();
    await flushPromises();
    raw.current().complete();
    await clock.advanceAsync(60_000);
    expect(raw.watches).to.have.length(2);
    const feed = raw.current();
    await source.stop();
    feed.next(raw.set('/p/late', '1'));
    await clock.advanceAsync(60_000);
    expect(got).to.deep.equal([]);
    expect(raw.watches).to.have.length(2);
  });
});
