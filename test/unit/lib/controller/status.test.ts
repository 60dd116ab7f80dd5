import { expect } from 'chai';
import { CONDITION_TIME_KEYS, updateStatus } from '../../../../lib/controller/status.js';
import { ConflictError, NotFoundError } from '../../../../lib/errors.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { INSTANCE, instance } from './kinds.js';

type Obj = KubeObject<
  Record<string, unknown>,
  {
    phase?: string;
    count?: number;
    conditions?: Array<{ type: string; status: 'True' | 'False'; reason: string; message: string; lastTransitionTime: string }>;
  }
>;

async function setup(): Promise<{ store: MemoryStore; obj: Obj }> {
  const store = new MemoryStore();
  const obj = await store.create<Obj>(INSTANCE, instance('web'));
  return { store, obj };
}

describe('updateStatus', () => {
  it('writes the status mutate computes from the latest copy', async () => {
    const { store } = await setup();
    const written = await updateStatus<Obj>(store, INSTANCE, { name: 'web', namespace: 'default' }, (o) => ({
      ...o.status,
      phase: 'Running',
    }));
    expect(written?.status?.phase).to.equal('Running');
    expect((await store.get<Obj>(INSTANCE, 'web', 'default')).status?.phase).to.equal('Running');
  });

  it('re-reads the object and calls mutate again after a write conflict', async () => {
    const { store, obj } = await setup();
    // Another writer moves the object on after the caller read its copy.
    await store.update<Obj>(INSTANCE, { ...obj, status: { count: 1 } }, { subresource: 'status' });
    const seen: Array<number | undefined> = [];
    const written = await updateStatus<Obj>(
      store,
      INSTANCE,
      { name: 'web', namespace: 'default' },
      (o) => {
        seen.push(o.status?.count);
        return { ...o.status, phase: 'Running' };
      },
      { latest: obj },
    );
    expect(seen).to.deep.equal([undefined, 1]);
    expect(written?.status).to.deep.equal({ count: 1, phase: 'Running' });
  });

  it('throws the ConflictError once its attempts are used up', async () => {
    const { store, obj } = await setup();
    let calls = 0;
    const racing = {
      ...store,
      get: store.get.bind(store),
      update: async () => {
        calls++;
        throw new ConflictError('the object has been modified');
      },
    } as unknown as MemoryStore;
    const err = await updateStatus<Obj>(racing, INSTANCE, { name: 'web', namespace: 'default' }, () => ({ phase: 'Running' }), {
      latest: obj,
      attempts: 3,
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConflictError);
    expect(calls).to.equal(3);
  });

  it('skips the write when the status would not change', async () => {
    const { store, obj } = await setup();
    const first = await updateStatus<Obj>(
      store,
      INSTANCE,
      { name: 'web', namespace: 'default' },
      () => ({ phase: 'Running', count: undefined }),
      { latest: obj },
    );
    const again = await updateStatus<Obj>(store, INSTANCE, { name: 'web', namespace: 'default' }, (o) => ({
      phase: 'Running',
      ...o.status,
    }));
    expect(again?.metadata.resourceVersion).to.equal(first?.metadata.resourceVersion);
  });

  it('skips the write when mutate returns undefined', async () => {
    const { store, obj } = await setup();
    const same = await updateStatus<Obj>(store, INSTANCE, { name: 'web', namespace: 'default' }, () => undefined);
    expect(same?.metadata.resourceVersion).to.equal(obj.metadata.resourceVersion);
  });

  it('ignores the keys it is told to ignore when deciding whether the status changed', async () => {
    const { store } = await setup();
    const cond = (time: string) => ({ type: 'Ready', status: 'True' as const, reason: 'Up', message: 'up', lastTransitionTime: time });
    const first = await updateStatus<Obj>(store, INSTANCE, { name: 'web', namespace: 'default' }, () => ({
      conditions: [cond('2024-01-01T00:00:00Z')],
    }));
    const same = await updateStatus<Obj>(
      store,
      INSTANCE,
      { name: 'web', namespace: 'default' },
      () => ({ conditions: [cond('2025-01-01T00:00:00Z')] }),
      { ignoreKeys: CONDITION_TIME_KEYS },
    );
    expect(same?.metadata.resourceVersion).to.equal(first?.metadata.resourceVersion);
    const changed = await updateStatus<Obj>(store, INSTANCE, { name: 'web', namespace: 'default' }, () => ({
      conditions: [cond('2025-01-01T00:00:00Z')],
    }));
    expect(changed?.metadata.resourceVersion).to.not.equal(first?.metadata.resourceVersion);
  });

  it('throws NotFoundError for an object that is gone, unless told to skip it', async () => {
    const { store } = await setup();
    await store.delete(INSTANCE, 'web', 'default');
    const err = await updateStatus<Obj>(store, INSTANCE, { name: 'web', namespace: 'default' }, () => ({ phase: 'Running' })).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(NotFoundError);
    const skipped = await updateStatus<Obj>(store, INSTANCE, { name: 'web', namespace: 'default' }, () => ({ phase: 'Running' }), {
      ifGone: 'skip',
    });
    expect(skipped).to.equal(undefined);
  });
});
