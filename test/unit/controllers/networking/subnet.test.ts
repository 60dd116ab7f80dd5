import { expect } from 'chai';
import { addressPlan, hostAddresses } from '../../../../controllers/networking/subnet.js';
import { formatIp } from '../../../../lib/ipv4.js';

describe('network address plans', () => {
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
