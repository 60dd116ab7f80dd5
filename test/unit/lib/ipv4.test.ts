import { expect } from 'chai';
import { formatIp, overlaps, parseSubnet } from '../../../lib/ipv4.js';

describe('IPv4 arithmetic', () => {
  it('reads a CIDR subnet and masks it to its network address', () => {
    const s = parseSubnet('10.42.0.7/24');
    expect(s.cidr).to.equal('10.42.0.0/24');
    expect(formatIp(s.broadcast)).to.equal('10.42.0.255');
    expect(s.size).to.equal(256);
  });

  it('refuses malformed subnets and addresses', () => {
    for (const bad of ['10.42.0.0', '10.42.0/24', '10.42.0.256/24', '10.42.0.0/33', 'lan/24', '010.1.1.1/24']) {
      expect(() => parseSubnet(bad), bad).to.throw(/must be an IPv4/);
    }
  });

  it('tells overlapping subnets apart from neighbours', () => {
    const table: Array<[string, string, boolean]> = [
      ['10.42.0.0/24', '10.42.0.128/25', true],
      ['10.42.0.0/16', '10.42.7.0/24', true],
      ['10.42.0.0/24', '10.42.1.0/24', false],
      ['192.168.0.0/29', '192.168.0.8/29', false],
    ];
    for (const [a, b, want] of table) expect(overlaps(parseSubnet(a), parseSubnet(b)), `${a} ${b}`).to.equal(want);
  });
});
