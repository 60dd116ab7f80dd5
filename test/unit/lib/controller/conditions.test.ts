import { expect } from 'chai';
import { getCondition, isFalse, isTrue, removeCondition, setCondition } from '../../../../lib/controller/conditions.js';
import { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from '../../../../lib/controller/finalizers.js';
import type { KubeObject } from '../../../../lib/store/types.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const T1 = T0 + 60_000;

describe('conditions', () => {
  it('adds a condition with its transition time', () => {
    const list = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Starting', message: 'starting' }, T0);
    expect(list).to.deep.equal([
      { type: 'Ready', status: 'False', reason: 'Starting', message: 'starting', lastTransitionTime: new Date(T0).toISOString() },
    ]);
  });

  it('keeps lastTransitionTime when the status is unchanged but updates reason and message', () => {
    const a = setCondition([], { type: 'Ready', status: 'True', reason: 'Running', message: 'up' }, T0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Healthy', message: 'still up', observedGeneration: 2 }, T1);
    expect(b[0]).to.include({
      reason: 'Healthy',
      message: 'still up',
      observedGeneration: 2,
      lastTransitionTime: new Date(T0).toISOString(),
    });
    expect(a[0]?.reason).to.equal('Running');
  });

  it('moves lastTransitionTime when the status changes', () => {
    const a = setCondition([], { type: 'Ready', status: 'True', reason: 'Running', message: '' }, T0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Crashed', message: '' }, T1);
    expect(b[0]?.lastTransitionTime).to.equal(new Date(T1).toISOString());
  });

  it('finds, tests and removes conditions by type', () => {
    let list = setCondition([], { type: 'Scheduled', status: 'True', reason: 'Placed', message: '' }, T0);
    list = setCondition(list, { type: 'Ready', status: 'False', reason: 'Starting', message: '' }, T0);
    expect(getCondition(list, 'Scheduled')?.reason).to.equal('Placed');
    expect(isTrue(list, 'Scheduled')).to.equal(true);
    expect(isTrue(list, 'Ready')).to.equal(false);
    expect(isFalse(list, 'Ready')).to.equal(true);
    expect(isTrue(list, 'Missing')).to.equal(false);
    expect(removeCondition(list, 'Ready').map((c) => c.type)).to.deep.equal(['Scheduled']);
  });
});

describe('finalizers', () => {
  const obj: KubeObject = { apiVersion: 'v', kind: 'Volume', metadata: { name: 'v', finalizers: ['a'] } };

  it('adds and removes a finalizer without touching the original', () => {
    const added = addFinalizer(obj, 'cloudlet.dev/storage');
    expect(added.metadata.finalizers).to.deep.equal(['a', 'cloudlet.dev/storage']);
    expect(obj.metadata.finalizers).to.deep.equal(['a']);
    expect(hasFinalizer(added, 'cloudlet.dev/storage')).to.equal(true);
    const removed = removeFinalizer(added, 'a');
    expect(removed.metadata.finalizers).to.deep.equal(['cloudlet.dev/storage']);
  });

  it('returns the same object when there is nothing to change', () => {
    expect(addFinalizer(obj, 'a')).to.equal(obj);
    expect(removeFinalizer(obj, 'b')).to.equal(obj);
    expect(hasFinalizer({ ...obj, metadata: { name: 'x' } }, 'a')).to.equal(false);
  });

  it('tells an object being deleted by its deletionTimestamp', () => {
    expect(isBeingDeleted(obj)).to.equal(false);
    expect(isBeingDeleted({ ...obj, metadata: { ...obj.metadata, deletionTimestamp: '2025-01-01T00:00:00Z' } })).to.equal(true);
  });
});
