import { expect } from 'chai';
import { addressPlan, hostAddresses } from '../../../../controllers/networking/subnet.js';
import { formatIp, overlaps, parseSubnet } from '../../../../lib/ipv4.js';

describe('subnet arithmetic', () => {
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

  it('refuses subnets of /30 and smaller, saying how many addresses they leave', () => {
    expect(() => addressPlan({ subnet: '10.0.0.0/30' })).to.throw('too small; use /29 or larger (a /30 leaves 1 instance addresses)');
    expect(() => addressPlan({ subnet: '10.0.0.0/32' })).to.throw(/too small/);
    expect(addressPlan({ subnet: '10.0.0.0/29' }).subnet.prefix).to.equal(29);
  });

  it('refuses a gateway outside the subnet or on its network or broadcast address', () => {
    expect(() => addressPlan({ subnet: '10.0.0.0/24', gateway: '10.0.1.1' })).to.throw('is outside the subnet 10.0.0.0/24');
    expect(() => addressPlan({ subnet: '10.0.0.0/24', gateway: '10.0.0.0' })).to.throw('is the network address');
    expect(() => addressPlan({ subnet: '10.0.0.0/24', gateway: '10.0.0.255' })).to.throw('is the broadcast address');
  });

  it('lists host addresses without the gateway, whichever address the gateway has', () => {
    const plan = addressPlan({ subnet: '10.0.0.0/29', gateway: '10.0.0.6' });
    expect([...hostAddresses(plan)].map(formatIp)).to.deep.equal(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
  });
});
