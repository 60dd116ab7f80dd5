import { expect } from 'chai';
import { dnsmasqArgv, fdbDiff, hostsFile, nftRuleset } from '../../../../../controllers/networking/drivers/bridge-plan.js';
import type { NetworkPlan } from '../../../../../controllers/networking/drivers/types.js';

const plan: NetworkPlan = {
  network: 'lan',
  names: { bridge: 'clbr0123456789', overlay: 'clvx0123456789', nftTable: 'cloudlet-lan-012345', stateDir: '/var/lib/cloudlet/net/lan' },
  subnet: '10.42.0.0/24',
  gateway: '10.42.0.1',
  prefix: 24,
  gatewayMac: '02:00:00:00:00:01',
  nat: true,
  dns: true,
  mtu: 1500,
  vni: 42,
  hosts: [],
};

describe('bridge driver plan', () => {
  it('replaces its own nft table atomically, isolating the bridge and masquerading the subnet', () => {
    const text = nftRuleset(plan);
    expect(text.split('\n').slice(0, 3)).to.deep.equal([
      'table ip cloudlet-lan-012345 {}',
      'delete table ip cloudlet-lan-012345',
      'table ip cloudlet-lan-012345 {',
    ]);
    expect(text).to.include('iifname "clbr0123456789" oifname != "clbr0123456789" oifname "clbr*" drop');
    expect(text).to.include('ip saddr 10.42.0.0/24 ip daddr != 10.42.0.0/24 masquerade');
    expect(nftRuleset({ ...plan, nat: false })).to.not.include('masquerade');
  });

  it('binds dnsmasq to the gateway address only, without DHCP', () => {
    const argv = dnsmasqArgv(plan);
    expect(argv).to.include.members(['--bind-interfaces', '--listen-address=10.42.0.1', '--addn-hosts=/var/lib/cloudlet/net/lan/hosts']);
    expect(argv.some((a) => a.startsWith('--dhcp'))).to.equal(false);
  });

  it('writes the hosts file sorted by address so equal input gives equal bytes', () => {
    const text = hostsFile([
      { address: '10.42.0.10', names: ['b'] },
      { address: '10.42.0.9', names: ['a', 'a.default'] },
    ]);
    expect(text).to.equal('10.42.0.9 a a.default\n10.42.0.10 b\n');
  });

  it('adds missing flood entries and removes stale ones', () => {
    expect(fdbDiff(['10.77.0.12', '10.77.0.13'], ['10.77.0.14', '10.77.0.12'])).to.deep.equal({
      add: ['10.77.0.14'],
      remove: ['10.77.0.13'],
    });
  });
});
