/**
 * Request limits of the API over HTTP: a per-user in-flight limit (429 with
 * Retry-After), a request timeout for everything but watches (504), and a
 * body limit (413). The store's list is held open by a gate the test
 * controls, so the requests are in flight for as long as the test says —
 * no timing is asserted.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import type { KubeObject, ListOptions, ListResult } from '../../../lib/store/types.js';
import type { KindInfo } from '../../../lib/kinds/registry.js';
import { startApi, type ApiHarness } from './api-harness.js';

/** GatedStore holds every list of instances until release() is called; after it, lists pass. */
class GatedStore extends MemoryStore {
  private waiting: Array<() => void> = [];
  private open = false;
  held = 0;
  override async list<T extends KubeObject>(kind: KindInfo, opts?: ListOptions): Promise<ListResult<T>> {
    if (kind.plural === 'instances' && !this.open) {
      this.held++;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return super.list<T>(kind, opts);
  }
  release(): void {
    this.open = true;
    for (const r of this.waiting.splice(0)) r();
  }
}

const LIST = '/apis/cloudlet.dev/v1alpha1/namespaces/default/instances';

describe('API request limits', () => {
  let store: GatedStore;
  let api: ApiHarness | undefined;
  beforeEach(() => {
    store = new GatedStore();
  });
  afterEach(async () => {
    store.release();
    await api?.close();
    api = undefined;
  });

  it('answers 429 with Retry-After to a user over its in-flight limit, and serves it again once one finishes', async () => {
    api = await startApi(store, { maxInFlightPerUser: 2 });
    const first = api.call('GET', LIST);
    const second = api.call('GET', LIST);
    while (store.held < 2) await new Promise((r) => setImmediate(r));
    const third = await api.call('GET', LIST);
    expect(third.status).to.equal(429);
    expect(third.headers.get('retry-after')).to.equal('1');
    expect(third.body.reason).to.equal('TooManyRequests');
    expect(third.body.message).to.include('too many requests in flight for user "cloudlet-admin" (limit 2)');
    // discovery is not a list of instances: also over the limit while two are held
    expect((await api.call('GET', '/version')).status).to.equal(429);
    store.release();
    expect((await first).status).to.equal(200);
    expect((await second).status).to.equal(200);
    expect((await api.call('GET', LIST)).status).to.equal(200);
  });

  it('answers 504 to a request that outlives the request timeout, and a smaller ?timeout= wins', async () => {
    api = await startApi(store, { requestTimeoutMs: 200 });
    const r = await api.call('GET', LIST);
    expect(r.status).to.equal(504);
    expect(r.body.reason).to.equal('Timeout');
    expect(r.body.message).to.equal('the request did not complete within 0.2s');
    const asked = api.call('GET', `${LIST}?timeout=50ms`);
    expect((await asked).body.message).to.equal('the request did not complete within 0.05s');
  });

  it('answers 413 to a body over the limit and writes nothing', async () => {
    api = await startApi(new MemoryStore());
    const big = {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'big', namespace: 'default' },
      spec: { image: 'x'.repeat(4 * 1024 * 1024) },
    };
    const r = await api.call('POST', LIST, { body: big });
    expect(r.status).to.equal(413);
    expect(r.body.reason).to.equal('RequestEntityTooLarge');
    expect((await api.call('GET', `${LIST}/big`)).status).to.equal(404);
  });
});
