import { expect } from 'chai';
import { deepEqual } from '../../../lib/json.js';

describe('deepEqual', () => {
  const cases: Array<[string, unknown, unknown, boolean]> = [
    ['equal primitives', 1, 1, true],
    ['different primitives', 1, '1', false],
    ['objects whatever their key order', { a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    ['arrays in a different order', [1, 2], [2, 1], false],
    ['an object and an array', {}, [], false],
    ['null and an object', null, {}, false],
    ['a key holding undefined and an absent key, as JSON sees them', { a: 1, b: undefined }, { a: 1 }, true],
    ['a key only one side has', { a: 1, b: 2 }, { a: 1, c: 2 }, false],
  ];
  for (const [what, a, b, want] of cases) {
    it(`is ${want} for ${what}`, () => {
      expect(deepEqual(a, b)).to.equal(want);
      expect(deepEqual(b, a)).to.equal(want);
    });
  }

  it('leaves ignored keys out at any depth', () => {
    const a = { conditions: [{ type: 'Ready', lastTransitionTime: '1' }] };
    const b = { conditions: [{ type: 'Ready', lastTransitionTime: '2' }] };
    expect(deepEqual(a, b)).to.equal(false);
    expect(deepEqual(a, b, { ignoreKeys: new Set(['lastTransitionTime']) })).to.equal(true);
  });
});
