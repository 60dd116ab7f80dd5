import { expect } from 'chai';
import type { Member, Network } from '../../../../lib/kinds/types.js';
import { hostEntries, planNetwork, underlayPeers, validateNetwork } from '../../../../controllers/networking/network-plan.js';
import { derivedVni, gatewayMac, nicMac, plumbingNames } from '../../../../controllers/networking/naming.js';
import { VxlanDriver } from '../../../../controllers/networking/drivers/vxlan.js';
import { BridgeDriver } from '../../../../controllers/networking/drivers/bridge.js';

function net(name: string, subnet: string, created: string, driver: 'bridge' | 'vxlan' | 'ovn' = 'bridge'): Network {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name, creationTimestamp: created }, spec: { driver, subnet } };
}
function member(name: string, phase: 'Ready' | 'NotReady', address?: string): Member {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', metadata: { name }, spec: { address }, status: { phase } };
}
const drivers = ['bridge', 'vxlan'];

describe('network plan', () => {
  it('accepts a valid network and refuses an unknown driver, a tiny subnet and a bad gateway with clear messages', () => {
    expect(validateNetwork(net('lan', '10.42.0.0/24', 't1'), [], drivers)).to.deep.equal({ ok: true });
    expect(validateNetwork(net('o', '10.42.0.0/24', 't1', 'ovn'), [], drivers)).to.deep.equal({
      ok: false,
      reason: 'UnknownDriver',
      message: 'network driver "ovn" is not available; known drivers: bridge, vxlan',
    });
    expect(validateNetwork(net('tiny', '10.42.0.0/30', 't1'), [], drivers)).to.include({ ok: false, reason: 'InvalidSpec' });
    const gw = { ...net('gw', '10.42.0.0/24', 't1'), spec: { driver: 'bridge' as const, subnet: '10.42.0.0/24', gateway: '10.9.9.9' } };
    expect(validateNetwork(gw, [], drivers)).to.deep.include({
      message: 'spec.gateway: Invalid value: "10.9.9.9": is outside the subnet 10.42.0.0/24',
    });
  });

  it('refuses the newer of two overlapping networks and keeps the older one', () => {
    const old = net('old', '10.42.0.0/16', '2026-01-01T00:00:00Z');
    const young = net('young', '10.42.3.0/24', '2026-01-02T00:00:00Z');
    expect(validateNetwork(old, [old, young], drivers)).to.deep.equal({ ok: true });
    expect(validateNetwork(young, [old, young], drivers)).to.deep.equal({
      ok: false,
      reason: 'SubnetOverlap',
      message: 'subnet 10.42.3.0/24 overlaps 10.42.0.0/16 of network "old"',
    });
  });

  it('names instances by their first NIC and further NICs by interface', () => {
    const entries = hostEntries([
      { network: 'lan', address: '10.42.0.2', owner: { namespace: 'default', instance: 'web', nic: 0 } },
      { network: 'lan', address: '10.42.0.3', owner: { namespace: 'prod', instance: 'db', nic: 1 } },
    ]);
    expect(entries).to.deep.equal([
      { address: '10.42.0.2', names: ['web', 'web.default'] },
      { address: '10.42.0.3', names: ['eth1.db', 'eth1.db.prod'] },
    ]);
  });

  it('floods only to other Ready members with an address', () => {
    const members = [
      member('m1', 'Ready', '10.77.0.11'),
      member('m2', 'Ready', '10.77.0.12'),
      member('m3', 'NotReady', '10.77.0.13'),
      member('m4', 'Ready'),
    ];
    expect(underlayPeers(members, 'm1')).to.deep.equal(['10.77.0.12']);
  });

  it('plans a vxlan network with the overlay MTU, a derived VNI and names within 15 characters', () => {
    const vx = new VxlanDriver();
    const plan = planNetwork({
      network: net('lan', '10.42.0.0/24', 't', 'vxlan'),
      driver: vx.info,
      scope: 'm1',
      stateRoot: '/s',
      localAddress: '10.77.0.11',
      peers: ['10.77.0.12'],
      hosts: [],
    });
    expect(plan).to.deep.include({
      subnet: '10.42.0.0/24',
      gateway: '10.42.0.1',
      prefix: 24,
      mtu: 1450,
      nat: false,
      dns: true,
      vni: derivedVni('lan'),
    });
    expect(plan.underlay).to.deep.equal({ local: '10.77.0.11', peers: ['10.77.0.12'] });
    expect(plan.names.bridge.length).to.be.at.most(15);
    expect(plan.names.overlay.length).to.be.at.most(15);
    const bridge = planNetwork({
      network: net('lan', '10.42.0.0/24', 't'),
      driver: new BridgeDriver().info,
      scope: 'm1',
      stateRoot: '/s',
      peers: [],
      hosts: [],
    });
    expect(bridge.mtu).to.equal(1500);
    expect(bridge.underlay).to.equal(undefined);
  });

  it('gives each member its own kernel names but one gateway MAC and VNI per network', () => {
    const a = plumbingNames({ network: 'lan', scope: 'm1', stateRoot: '/s' });
    const b = plumbingNames({ network: 'lan', scope: 'm2', stateRoot: '/s' });
    expect(a.bridge).to.not.equal(b.bridge);
    expect(gatewayMac('lan'))
      .to.equal(gatewayMac('lan'))
      .and.to.match(/^02(:[0-9a-f]{2}){5}$/);
    expect(derivedVni('lan')).to.be.within(1, 0xffffff);
    expect(nicMac({ namespace: 'default', instance: 'web', nic: 0 })).to.match(/^0a(:[0-9a-f]{2}){5}$/);
  });
});
