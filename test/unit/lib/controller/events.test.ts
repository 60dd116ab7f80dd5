import { expect } from 'chai';
import { FakeClock } from '../../../../lib/controller/clock.js';
import type { CoreEvent } from '../../../../lib/controller/events.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import { UnavailableError } from '../../../../lib/errors.js';
import { EVENT_KIND } from '../../../../lib/kinds/registry.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { FakeStore } from './fake-store.js';
import { captureLogger, counterValue } from './helpers.js';

const web: KubeObject = {
  apiVersion: 'cloudlet.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name: 'web', namespace: 'prod', uid: 'u-web', resourceVersion: '7' },
};

function setup() {
  const clock = new FakeClock({ start: Date.parse('2025-03-01T10:00:00Z') });
  const store = new FakeStore(clock);
  const metrics = createMetrics();
  const { logger, records } = captureLogger();
  const recorder = new EventRecorder({ store, logger, metrics, clock, component: 'scheduler', host: 'm1' });
  const events = async () => (await store.list<CoreEvent>(EVENT_KIND)).items;
  return { clock, store, metrics, records, recorder, events };
}

describe('EventRecorder', () => {
  it('writes a core v1 Event about the object', async () => {
    const t = setup();
    await t.recorder.normal(web, 'Scheduled', 'placed on m1');
    const [ev, ...rest] = await t.events();
    expect(rest).to.have.length(0);
    expect(ev?.metadata.namespace).to.equal('prod');
    expect(ev?.metadata.name).to.match(/^web\.[0-9a-f]{16}$/);
    expect(ev).to.deep.include({
      apiVersion: 'v1',
      kind: 'Event',
      involvedObject: {
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Instance',
        name: 'web',
        namespace: 'prod',
        uid: 'u-web',
        resourceVersion: '7',
      },
      reason: 'Scheduled',
      message: 'placed on m1',
      type: 'Normal',
      count: 1,
      firstTimestamp: '2025-03-01T10:00:00.000Z',
      lastTimestamp: '2025-03-01T10:00:00.000Z',
      source: { component: 'scheduler', host: 'm1' },
    });
  });

  it('bumps count and lastTimestamp for a repeat within ten minutes', async () => {
    const t = setup();
    await t.recorder.warning(web, 'StartFailed', 'lxc-start failed');
    t.clock.advance(5 * 60_000);
    await t.recorder.warning({ ...web, metadata: { ...web.metadata, resourceVersion: '8' } }, 'StartFailed', 'lxc-start failed');
    const evs = await t.events();
    expect(evs).to.have.length(1);
    expect(evs[0]).to.deep.include({ count: 2, firstTimestamp: '2025-03-01T10:00:00.000Z', lastTimestamp: '2025-03-01T10:05:00.000Z' });
  });

  it('aggregates concurrent repeats without losing a count', async () => {
    const t = setup();
    await Promise.all([1, 2, 3, 4].map(() => t.recorder.normal(web, 'Pulled', 'image cached')));
    const evs = await t.events();
    expect(evs.map((e) => e.count)).to.deep.equal([4]);
  });

  it('starts a new Event after ten quiet minutes, or for a different message', async () => {
    const t = setup();
    await t.recorder.normal(web, 'Started', 'started');
    await t.recorder.normal(web, 'Started', 'started again');
    t.clock.advance(10 * 60_000 + 1);
    await t.recorder.normal(web, 'Started', 'started');
    const evs = await t.events();
    expect(evs).to.have.length(3);
    expect(evs.every((e) => e.count === 1)).to.equal(true);
  });

  it('puts events about cluster-scoped objects in the default namespace', async () => {
    const t = setup();
    await t.recorder.warning(
      { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', metadata: { name: 'm2' } },
      'NotReady',
      'lease expired',
    );
    const [ev] = await t.events();
    expect(ev?.metadata.namespace).to.equal('default');
    expect(ev?.involvedObject).to.deep.equal({ apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', name: 'm2' });
  });

  it('never throws when the store fails: it logs a warning and counts an error', async () => {
    const t = setup();
    t.store.create = async () => {
      throw new UnavailableError('etcd down');
    };
    await t.recorder.normal(web, 'Scheduled', 'placed');
    expect(t.records.filter((r) => r.level === 'warn').map((r) => r.error)).to.deep.equal(['etcd down']);
    expect(await counterValue(t.metrics, 'errors', { component: 'events' })).to.equal(1);
  });

  it('starts a new Event when the aggregated one was deleted meanwhile', async () => {
    const t = setup();
    await t.recorder.normal(web, 'Scheduled', 'placed');
    const [first] = await t.events();
    await t.store.delete(EVENT_KIND, first?.metadata.name ?? '', 'prod');
    await t.recorder.normal(web, 'Scheduled', 'placed');
    const evs = await t.events();
    expect(evs).to.have.length(1);
    expect(evs[0]?.count).to.equal(1);
    expect(evs[0]?.metadata.name).to.not.equal(first?.metadata.name);
  });
});
