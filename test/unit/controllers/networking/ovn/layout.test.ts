import { expect } from 'chai';
import { centralDaemons, chassisDaemons, chassisSettings, ovnLayout } from '../../../../../controllers/networking/ovn/layout.js';
import { deviceWithAddress, movableRoutes } from '../../../../../controllers/networking/ovn/uplink.js';

describe('ovn daemon layout and uplink parsing', () => {
  const l = ovnLayout('/var/lib/cloudlet/m1');

  it('keeps every socket, database, pid file and log under the member data dir', () => {
    for (const d of [...chassisDaemons(l), ...centralDaemons(l, '10.0.0.1')]) {
      for (const arg of d.argv.filter((a) => a.includes('/')))
        expect(arg, `${d.name}: ${arg}`).to.match(/\/var\/lib\/cloudlet\/m1\/ov[sn](\/|$)/);
      expect(d.argv).to.include('--detach');
      expect(d.argv).to.include(`--pidfile=${d.pidfile}`);
    }
    expect(l.ovsDb).to.equal('unix:/var/lib/cloudlet/m1/ovs/db.sock');
  });

  it('starts the chassis daemons in dependency order and gives ovn-controller no --unixctl (it has none)', () => {
    const ds = chassisDaemons(l);
    expect(ds.map((d) => d.name)).to.deep.equal(['ovsdb-server', 'ovs-vswitchd', 'ovn-controller']);
    expect(ds[2]?.argv.some((a) => a.startsWith('--unixctl'))).to.equal(false);
  });

  it('makes the central databases listen on TCP at the central address', () => {
    const [nb, sb, northd] = centralDaemons(l, '10.0.0.1');
    expect(nb?.argv).to.include('--remote=ptcp:6641:10.0.0.1');
    expect(sb?.argv).to.include('--remote=ptcp:6642:10.0.0.1');
    expect(northd?.argv).to.include(`--ovnnb-db=${l.nbLocal}`);
  });

  it('configures the chassis for VXLAN with the userspace datapath', () => {
    expect(chassisSettings({ systemId: 'm1', encapIp: '10.0.0.2', central: '10.0.0.1' })).to.include.members([
      'external_ids:system-id=m1',
      'external_ids:ovn-remote=tcp:10.0.0.1:6642',
      'external_ids:ovn-encap-type=vxlan',
      'external_ids:ovn-encap-ip=10.0.0.2',
      'external_ids:ovn-bridge-datapath-type=netdev',
    ]);
  });

  it('finds the device holding an address with all its IPv4 addresses', () => {
    const json = JSON.stringify([
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
      {
        ifname: 'eth0',
        addr_info: [
          { family: 'inet', local: '10.0.0.2', prefixlen: 24 },
          { family: 'inet', local: '10.1.0.2', prefixlen: 16 },
        ],
      },
    ]);
    expect(deviceWithAddress(json, '10.0.0.2')).to.deep.equal({ device: 'eth0', addresses: ['10.0.0.2/24', '10.1.0.2/16'] });
    expect(deviceWithAddress(json, '10.9.9.9')).to.equal(undefined);
  });

  it('moves only the routes the kernel did not add', () => {
    const json = JSON.stringify([
      { dst: '10.0.0.0/24', protocol: 'kernel', scope: 'link' },
      { dst: 'default', gateway: '10.0.0.1', protocol: 'static' },
      { dst: '10.8.0.0/16', gateway: '10.0.0.9', metric: 5 },
    ]);
    expect(movableRoutes(json)).to.deep.equal([
      { dst: 'default', gateway: '10.0.0.1' },
      { dst: '10.8.0.0/16', gateway: '10.0.0.9', metric: 5 },
    ]);
  });
});
