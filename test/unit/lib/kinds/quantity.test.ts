import { expect } from 'chai';
import { parseQuantity, formatBytes, formatCores, formatExactBytes } from '../../../../lib/kinds/quantity.js';
import { ValidationError } from '../../../../lib/errors.js';

describe('quantities', () => {
  const table: Array<[string | number, number]> = [
    ['256Mi', 256 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['500M', 5e8],
    ['500m', 0.5],
    ['2', 2],
    [1024, 1024],
  ];
  for (const [input, want] of table) {
    it(`parses ${JSON.stringify(input)} as ${want}`, () => {
      expect(parseQuantity(input)).to.equal(want);
    });
  }
  it('rejects a malformed quantity and names the field', () => {
    expect(() => parseQuantity('12XB', 'spec.memory')).to.throw(ValidationError, /spec\.memory/);
  });
  it('formats bytes with binary suffixes', () => {
    expect(formatBytes(256 * 2 ** 20)).to.equal('256Mi');
    expect(formatBytes(1.5 * 2 ** 30)).to.equal('1.5Gi');
    expect(formatBytes(100)).to.equal('100');
  });
  it('formats bytes exactly in the largest binary unit that divides them', () => {
    expect(formatExactBytes(1280 * 2 ** 20)).to.equal('1280Mi');
    expect(formatExactBytes(2 ** 40)).to.equal('1Ti');
    expect(formatExactBytes(1000)).to.equal('1000');
  });
  it('formats cores as whole cores or millicores', () => {
    expect(formatCores(3)).to.equal('3');
    expect(formatCores(2.5)).to.equal('2500m');
    expect(formatCores(0.1 + 0.2)).to.equal('300m');
  });
});
