import { expect } from 'chai';
import { Reverter, withRevert } from '../../../../lib/host/revert.js';

describe('revert', () => {
  it('runs undo steps newest first when the action fails, and rethrows', async () => {
    const undone: string[] = [];
    const err = await withRevert(async (r) => {
      r.add(() => undone.push('a'));
      r.add(async () => {
        undone.push('b');
      });
      throw new Error('step 3 failed');
    }).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('step 3 failed');
    expect(undone).to.deep.equal(['b', 'a']);
  });

  it('keeps every change when the action succeeds', async () => {
    const undone: string[] = [];
    const v = await withRevert(async (r) => {
      r.add(() => undone.push('a'));
      return 42;
    });
    expect(v).to.equal(42);
    expect(undone).to.deep.equal([]);
  });

  it('continues past a failing undo step and reports it', async () => {
    const seen: unknown[] = [];
    const undone: string[] = [];
    const r = new Reverter({ onUndoError: (e) => seen.push(e) });
    r.add(() => undone.push('first'));
    r.add(() => {
      throw new Error('undo broke');
    });
    await r.fail();
    await r.fail();
    expect(undone).to.deep.equal(['first']);
    expect(seen).to.have.length(1);
  });
});
