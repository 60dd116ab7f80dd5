/**
 * describeStoreContract is the one suite every Store implementation passes
 * (MemoryStore in unit tests, EtcdStore against a real etcd): object rules,
 * conflicts, finalizers, selectors, watches, compaction, raw keys, leases.
 */
import { expect } from 'chai';
import { firstValueFrom, take, toArray, timeout, type Observable } from 'rxjs';
import { KindRegistry } from '../../lib/kinds/registry.js';
import type { KubeObject, Lease, Store, WatchEvent } from '../../lib/store/types.js';

/** StoreHarness is one store under test plus the test controls its implementation needs. */
export interface StoreHarness {
  store: Store;
  /** compact discards history before `revision` */
  compact(revision: string): Promise<void>;
  /** expireLease makes `lease` expire (memory: at once; etcd: by not renewing it until it lapses) */
  expireLease(lease: Lease): Promise<void>;
  /** other opens a second store over the same data, as another process would have one; close() closes it too */
  other(): Promise<Store>;
  close(): Promise<void>;
}

const kinds = KindRegistry.load();
const INSTANCE = kinds.resolve('instances');
const MEMBER = kinds.resolve('members');
let seq = 0;

function instance(name: string, namespace: string, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace },
    spec: { image: 'busybox', cpu: 1 },
    ...extra,
  };
}

async function expectReject(p: Promise<unknown>, errName: string, message?: RegExp | string): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).name).to.equal(errName);
    if (typeof message === 'string') expect((err as Error).message).to.equal(message);
    else if (message) expect((err as Error).message).to.match(message);
    return err as Error;
  }
  throw new Error(`expected a ${errName}`);
}

function collect<T>(obs: Observable<T>, count: number): Promise<T[]> {
  return firstValueFrom(obs.pipe(take(count), toArray(), timeout(20_000)));
}

/** describeStoreContract registers the contract suite for the harness `factory` builds. */
export function describeStoreContract(name: string, factory: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, function () {
    this.timeout(30_000);
    let h: StoreHarness;
    let store: Store;
    let ns: string;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
      ns = `ns${++seq}-${Date.now().toString(36)}`;
    });
    afterEach(async () => h.close());

    describe('create and get', () => {
      it('sets uid, creationTimestamp, generation 1 and resourceVersion', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        expect(created.metadata.uid).to.match(/^[0-9a-f-]{36}$/);
        expect(created.metadata.creationTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(created.metadata.generation).to.equal(1);
        expect(created.metadata.resourceVersion).to.match(/^\d+$/);
        const got = await store.get(INSTANCE, 'web', ns);
        expect(got).to.deep.equal(created);
      });

      it('ignores resourceVersion, deletionTimestamp and status given on create', async () => {
        const obj = instance('web', ns, { status: { phase: 'Running' } });
        obj.metadata.resourceVersion = '999999';
        obj.metadata.deletionTimestamp = '2020-01-01T00:00:00Z';
        const created = await store.create(INSTANCE, obj);
        expect(created.metadata.deletionTimestamp).to.equal(undefined);
        expect(created.status).to.equal(undefined);
        expect(created.metadata.resourceVersion).to.not.equal('999999');
      });

      it('rejects a second create with a Kubernetes AlreadyExists message', async () => {
        await store.create(INSTANCE, instance('web', ns));
        await expectReject(
          store.create(INSTANCE, instance('web', ns)),
          'AlreadyExistsError',
          'instances.cloudlet.dev "web" already exists',
        );
      });

      it('names an object from generateName plus five characters', async () => {
        const created = await store.create<KubeObject>(INSTANCE, {
          ...instance('', ns),
          metadata: { name: '', generateName: 'web-', namespace: ns },
        });
        expect(created.metadata.name).to.match(/^web-[a-z0-9]{5}$/);
        expect((await store.get(INSTANCE, created.metadata.name, ns)).metadata.uid).to.equal(created.metadata.uid);
      });

      it('answers a get of a missing object with a Kubernetes NotFound message', async () => {
        await expectReject(store.get(INSTANCE, 'nope', ns), 'NotFoundError', 'instances.cloudlet.dev "nope" not found');
      });

      it('requires a namespace for namespaced kinds and drops it for cluster-scoped kinds', async () => {
        await expectReject(store.create(INSTANCE, instance('web', '')), 'ValidationError');
        const name = `m-${ns}`;
        const m = await store.create<KubeObject>(MEMBER, {
          apiVersion: 'cloudlet.dev/v1alpha1',
          kind: 'Member',
          metadata: { name, namespace: 'x' },
          spec: {},
        });
        expect(m.metadata.namespace).to.equal(undefined);
        expect((await store.get(MEMBER, name)).metadata.uid).to.equal(m.metadata.uid);
        await store.delete(MEMBER, name, undefined);
      });
    });

    describe('list', () => {
      it('lists one namespace sorted by name with the store revision', async () => {
        for (const n of ['c', 'a', 'b']) await store.create(INSTANCE, instance(n, ns));
        await store.create(INSTANCE, instance('z', `${ns}-other`));
        const list = await store.list(INSTANCE, { namespace: ns });
        expect(list.items.map((i) => i.metadata.name)).to.deep.equal(['a', 'b', 'c']);
        const maxRv = Math.max(...list.items.map((i) => Number(i.metadata.resourceVersion)));
        expect(Number(list.resourceVersion)).to.be.at.least(maxRv);
        const all = await store.list(INSTANCE);
        const mine = all.items.filter((i) => i.metadata.namespace?.startsWith(ns)).map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
        expect(mine).to.deep.equal([`${ns}/a`, `${ns}/b`, `${ns}/c`, `${ns}-other/z`]);
      });

      it('filters by every label selector operator', async () => {
        await store.create(INSTANCE, instance('a', ns, { metadata: { name: 'a', namespace: ns, labels: { app: 'web', tier: 'front' } } }));
        await store.create(INSTANCE, instance('b', ns, { metadata: { name: 'b', namespace: ns, labels: { app: 'db' } } }));
        await store.create(INSTANCE, instance('c', ns, { metadata: { name: 'c', namespace: ns } }));
        const names = async (labelSelector: string): Promise<string[]> =>
          (await store.list(INSTANCE, { namespace: ns, labelSelector })).items.map((i) => i.metadata.name);
        expect(await names('app=web')).to.deep.equal(['a']);
        expect(await names('app==db')).to.deep.equal(['b']);
        expect(await names('app!=web')).to.deep.equal(['b', 'c']);
        expect(await names('app in (web, db)')).to.deep.equal(['a', 'b']);
        expect(await names('app notin (web)')).to.deep.equal(['b', 'c']);
        expect(await names('tier')).to.deep.equal(['a']);
        expect(await names('!tier')).to.deep.equal(['b', 'c']);
        expect(await names('app,!tier')).to.deep.equal(['b']);
        await expectReject(store.list(INSTANCE, { namespace: ns, labelSelector: 'app in web' }), 'BadRequestError');
      });

      it('filters by metadata.name and metadata.namespace field selectors', async () => {
        await store.create(INSTANCE, instance('a', ns));
        await store.create(INSTANCE, instance('b', ns));
        const names = async (fieldSelector: string): Promise<string[]> =>
          (await store.list(INSTANCE, { fieldSelector })).items.filter((i) => i.metadata.namespace === ns).map((i) => i.metadata.name);
        expect(await names('metadata.name=a')).to.deep.equal(['a']);
        expect(await names(`metadata.namespace==${ns},metadata.name!=a`)).to.deep.equal(['b']);
        await expectReject(store.list(INSTANCE, { fieldSelector: 'spec.image=busybox' }), 'BadRequestError');
      });
    });

    describe('update', () => {
      it('requires a resourceVersion', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        delete created.metadata.resourceVersion;
        await expectReject(store.update(INSTANCE, created), 'ValidationError');
      });

      it('rejects a stale resourceVersion with the Kubernetes conflict message', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        await store.update(INSTANCE, { ...created, spec: { image: 'busybox', cpu: 2 } });
        await expectReject(
          store.update(INSTANCE, { ...created, spec: { image: 'busybox', cpu: 3 } }),
          'ConflictError',
          'Operation cannot be fulfilled on instances.cloudlet.dev "web": the object has been modified; please apply your changes to the latest version and try again',
        );
      });

      it('refuses an update another writer has moved past, and calls an object another writer deleted not found', async () => {
        const mine = await store.create(INSTANCE, instance('web', ns));
        const theirs = await h.other();
        const seen = await theirs.get(INSTANCE, 'web', ns);
        await theirs.update(INSTANCE, { ...seen, spec: { image: 'busybox', cpu: 2 } });
        await expectReject(store.update(INSTANCE, { ...mine, spec: { image: 'busybox', cpu: 3 } }), 'ConflictError');
        const fresh = await store.get(INSTANCE, 'web', ns);
        expect(fresh.spec).to.deep.equal({ image: 'busybox', cpu: 2 });
        const updated = await store.update(INSTANCE, { ...fresh, spec: { image: 'busybox', cpu: 3 } });
        await theirs.delete(INSTANCE, 'web', ns);
        await expectReject(store.update(INSTANCE, { ...updated, spec: { image: 'busybox', cpu: 4 } }), 'NotFoundError');
        await expectReject(
          store.update(INSTANCE, { ...updated, status: { phase: 'Running' } }, { subresource: 'status' }),
          'NotFoundError',
        );
      });

      it('bumps generation on spec changes only', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        const labelled = await store.update(INSTANCE, { ...created, metadata: { ...created.metadata, labels: { a: 'b' } } });
        expect(labelled.metadata.generation).to.equal(1);
        expect(Number(labelled.metadata.resourceVersion)).to.be.greaterThan(Number(created.metadata.resourceVersion));
        const changed = await store.update(INSTANCE, { ...labelled, spec: { image: 'busybox', cpu: 2 } });
        expect(changed.metadata.generation).to.equal(2);
      });

      it('keeps uid and creationTimestamp from storage', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        const updated = await store.update(INSTANCE, {
          ...created,
          metadata: { ...created.metadata, creationTimestamp: '2000-01-01T00:00:00Z' },
        });
        expect(updated.metadata.creationTimestamp).to.equal(created.metadata.creationTimestamp);
        await expectReject(store.update(INSTANCE, { ...updated, metadata: { ...updated.metadata, uid: 'other' } }), 'ConflictError');
      });

      it('writes status only through the status subresource', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        const withStatus = await store.update(
          INSTANCE,
          { ...created, spec: { image: 'ignored' }, status: { phase: 'Running' } },
          { subresource: 'status' },
        );
        expect(withStatus.status).to.deep.equal({ phase: 'Running' });
        expect(withStatus.spec).to.deep.equal(created.spec);
        expect(withStatus.metadata.generation).to.equal(1);
        const main = await store.update(INSTANCE, { ...withStatus, spec: { image: 'busybox', cpu: 4 }, status: { phase: 'Failed' } });
        expect(main.status).to.deep.equal({ phase: 'Running' });
        expect(main.metadata.generation).to.equal(2);
      });

      it('does not write an update that changes nothing', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        const same = await store.update(INSTANCE, created);
        expect(same.metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
      });
    });

    describe('delete and finalizers', () => {
      it('deletes an object without finalizers', async () => {
        await store.create(INSTANCE, instance('web', ns));
        const res = await store.delete(INSTANCE, 'web', ns);
        expect(res.deleted).to.equal(true);
        expect(res.object.metadata.name).to.equal('web');
        await expectReject(store.get(INSTANCE, 'web', ns), 'NotFoundError');
        await expectReject(store.delete(INSTANCE, 'web', ns), 'NotFoundError');
      });

      it('only marks an object with finalizers, once, and deletes it when the last finalizer goes', async () => {
        await store.create(
          INSTANCE,
          instance('web', ns, { metadata: { name: 'web', namespace: ns, finalizers: ['cloudlet.dev/a', 'cloudlet.dev/b'] } }),
        );
        const first = await store.delete(INSTANCE, 'web', ns);
        expect(first.deleted).to.equal(false);
        const ts = first.object.metadata.deletionTimestamp;
        expect(ts).to.match(/Z$/);
        const again = await store.delete(INSTANCE, 'web', ns);
        expect(again.object.metadata.deletionTimestamp).to.equal(ts);
        const cur = await store.get(INSTANCE, 'web', ns);
        await expectReject(
          store.update(INSTANCE, {
            ...cur,
            metadata: { ...cur.metadata, finalizers: ['cloudlet.dev/a', 'cloudlet.dev/b', 'cloudlet.dev/c'] },
          }),
          'ValidationError',
        );
        const one = await store.update(INSTANCE, {
          ...cur,
          metadata: { ...cur.metadata, deletionTimestamp: undefined, finalizers: ['cloudlet.dev/b'] },
        });
        expect(one.metadata.deletionTimestamp).to.equal(ts);
        const last = await store.update(INSTANCE, { ...one, metadata: { ...one.metadata, finalizers: [] } });
        expect(last.metadata.finalizers).to.deep.equal([]);
        expect(last.metadata.deletionTimestamp).to.equal(ts);
        await expectReject(store.get(INSTANCE, 'web', ns), 'NotFoundError');
      });

      it('checks resourceVersion and uid preconditions', async () => {
        const created = await store.create(INSTANCE, instance('web', ns));
        await expectReject(store.delete(INSTANCE, 'web', ns, { resourceVersion: '1' }), 'ConflictError');
        await expectReject(store.delete(INSTANCE, 'web', ns, { uid: 'other' }), 'ConflictError');
        const res = await store.delete(INSTANCE, 'web', ns, {
          resourceVersion: created.metadata.resourceVersion,
          uid: created.metadata.uid,
        });
        expect(res.deleted).to.equal(true);
      });
    });

    describe('dry run', () => {
      it('computes create, update and delete without persisting them', async () => {
        const dry = await store.create(INSTANCE, instance('web', ns), { dryRun: true });
        expect(dry.metadata.uid).to.be.a('string');
        await expectReject(store.get(INSTANCE, 'web', ns), 'NotFoundError');
        const created = await store.create(INSTANCE, instance('web', ns));
        const upd = await store.update(INSTANCE, { ...created, spec: { image: 'x' } }, { dryRun: true });
        expect(upd.metadata.generation).to.equal(2);
        expect((await store.get(INSTANCE, 'web', ns)).spec).to.deep.equal(created.spec);
        const del = await store.delete(INSTANCE, 'web', ns, { dryRun: true });
        expect(del.deleted).to.equal(true);
        expect((await store.get(INSTANCE, 'web', ns)).metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
      });
    });

    describe('watch', () => {
      it('streams ADDED, MODIFIED and DELETED from a revision, DELETED with the last state', async () => {
        const from = await store.currentRevision();
        const events = collect(store.watch(INSTANCE, { namespace: ns, fromRevision: from }), 3);
        await store.create(INSTANCE, instance('other-ns', `${ns}-x`));
        const created = await store.create(INSTANCE, instance('web', ns));
        const updated = await store.update(INSTANCE, { ...created, spec: { image: 'busybox', cpu: 2 } });
        const removed = await store.delete(INSTANCE, 'web', ns);
        const got = (await events) as WatchEvent[];
        expect(got.map((e) => e.type)).to.deep.equal(['ADDED', 'MODIFIED', 'DELETED']);
        expect(got[0]?.object.metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
        expect(got[1]?.revision).to.equal(updated.metadata.resourceVersion);
        expect(got[2]?.object.spec).to.deep.equal({ image: 'busybox', cpu: 2 });
        expect(got[2]?.object.metadata.resourceVersion).to.equal(removed.object.metadata.resourceVersion);
        expect(got[2]?.revision).to.equal(removed.object.metadata.resourceVersion);
      });

      it('replays history to a watcher that starts from an older revision while another watches', async () => {
        const start = await store.currentRevision();
        const a = await store.create(INSTANCE, instance('a', ns));
        const live = collect(store.watch(INSTANCE, { namespace: ns, fromRevision: a.metadata.resourceVersion as string }), 2);
        await store.create(INSTANCE, instance('b', ns));
        const late = collect(store.watch(INSTANCE, { namespace: ns, fromRevision: start }), 3);
        await store.create(INSTANCE, instance('c', ns));
        expect((await live).map((e) => e.object.metadata.name)).to.deep.equal(['b', 'c']);
        expect((await late).map((e) => e.object.metadata.name)).to.deep.equal(['a', 'b', 'c']);
      });

      it('fails with GoneError when the revision was compacted', async () => {
        const start = await store.currentRevision();
        const a = await store.create(INSTANCE, instance('a', ns));
        await store.update(INSTANCE, { ...a, spec: { image: 'x' } });
        await store.create(INSTANCE, instance('b', ns));
        await h.compact(await store.currentRevision());
        await expectReject(collect(store.watch(INSTANCE, { namespace: ns, fromRevision: start }), 1), 'GoneError');
      });
    });

    describe('raw keys and leases', () => {
      it('claims a key once and compare-and-swaps on its revision', async () => {
        const key = `/cloudlet/test/${ns}/lock`;
        expect(await store.raw.claim(key, 'me')).to.equal(true);
        expect(await store.raw.claim(key, 'you')).to.equal(false);
        const entry = await store.raw.get(key);
        expect(entry?.value).to.equal('me');
        expect(await store.raw.casPut(key, 'x', '1')).to.equal(false);
        expect(await store.raw.casPut(key, 'me2', entry?.revision as string)).to.equal(true);
        expect(await store.raw.casPut(`${key}-new`, 'n', '0')).to.equal(true);
        expect(await store.raw.delete(key, { ifValue: 'me' })).to.equal(false);
        expect(await store.raw.delete(key, { ifValue: 'me2' })).to.equal(true);
        expect(await store.raw.get(key)).to.equal(undefined);
        const listed = await store.raw.list(`/cloudlet/test/${ns}/`);
        expect(listed.entries.map((e) => e.value)).to.deep.equal(['n']);
      });

      it('watches raw keys from a revision', async () => {
        const prefix = `/cloudlet/test/${ns}/w/`;
        const from = await store.currentRevision();
        const events = collect(store.raw.watch(prefix, from), 2);
        await store.raw.put(`${prefix}k`, 'v');
        await store.raw.delete(`${prefix}k`);
        expect((await events).map((e) => `${e.type} ${e.key}`)).to.deep.equal([`PUT ${prefix}k`, `DELETE ${prefix}k`]);
      });

      it('removes keys bound to a lease when it expires, and the lease cannot be renewed', async () => {
        const lease = await store.grantLease(1);
        expect(await lease.keepAliveOnce()).to.be.greaterThan(0);
        const key = `/cloudlet/test/${ns}/heartbeat`;
        await store.raw.put(key, 'alive', { lease });
        expect((await store.raw.get(key))?.lease).to.equal(lease.id);
        await h.expireLease(lease);
        expect(await store.raw.get(key)).to.equal(undefined);
        await expectReject(lease.keepAliveOnce(), 'NotFoundError');
        await lease.revoke();
      });

      it('removes keys bound to a lease when it is revoked', async () => {
        const lease = await store.grantLease(30);
        const key = `/cloudlet/test/${ns}/lock`;
        expect(await store.raw.claim(key, 'me', { lease })).to.equal(true);
        await lease.revoke();
        expect(await store.raw.get(key)).to.equal(undefined);
      });
    });
  });
}
