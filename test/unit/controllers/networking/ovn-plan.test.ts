import { expect } from 'chai';
import { centralMember, logicalPorts } from '../../../../controllers/networking/network-plan.js';
import { nicMac } from '../../../../controllers/networking/naming.js';
import type { Member } from '../../../../lib/kinds/types.js';

function member(
  name: string,
  opts: { address?: string; roles?: Array<'control-plane' | 'worker'>; phase?: 'Ready' | 'NotReady' } = {},
): Member {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name },
    spec: { ...(opts.address ? { address: opts.address } : {}), ...(opts.roles ? { roles: opts.roles } : {}) },
    status: { phase: opts.phase ?? 'Ready' },
  } as Member;
}

describe('ovn planning: central member and logical ports', () => {
  it('picks the first Ready control-plane member with an address', () => {
    const ms = [
      member('c', { address: '10.0.0.3', roles: ['control-plane'] }),
      member('a', { address: '10.0.0.1', roles: ['worker'] }),
      member('b', { address: '10.0.0.2', roles: ['control-plane'], phase: 'NotReady' }),
    ];
    expect(centralMember(ms, 'a')).to.deep.equal({ member: 'c', address: '10.0.0.3', local: false });
    expect(centralMember(ms, 'b')).to.deep.equal({ member: 'b', address: '10.0.0.2', local: true });
  });

  it('falls back to the first Ready member when no member has roles, and to none without addresses', () => {
    expect(centralMember([member('m2', { address: '10.0.0.2' }), member('m1', { address: '10.0.0.1' })], 'm2')).to.deep.equal({
      member: 'm1',
      address: '10.0.0.1',
      local: false,
    });
    expect(centralMember([member('m1')], 'm1')).to.equal(undefined);
  });

  it('makes one logical port per NIC with its stable MAC', () => {
    const owner = { namespace: 'default', instance: 'web', nic: 0 };
    expect(logicalPorts('lan', [{ network: 'lan', address: '10.45.0.2', owner }])).to.deep.equal([
      { name: 'cl-lan-default-web-0', mac: nicMac(owner), address: '10.45.0.2' },
    ]);
  });
});
