import { expect } from 'chai';
import { mkdtemp, readFile, rm, symlink, mkdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import type { Instance, Network } from '../../../../lib/kinds/types.js';
import { defaultNetworkDrivers } from '../../../../controllers/networking/drivers/registry.js';
import { Ipam } from '../../../../controllers/networking/ipam.js';
import { NicPlumber, writeResolvConf } from '../../../../controllers/networking/nic-plumber.js';
import { nicLines } from '../../../../controllers/instances/runtimes/lxc-config.js';
import type { NicSpec } from '../../../../controllers/instances/runtimes/types.js';
import { plumbingNames, vethHostName } from '../../../../controllers/networking/naming.js';
import { portHookCommands } from '../../../../controllers/networking/ovn/port-hook.js';

const kinds = KindRegistry.load();
const networkKind = kinds.resolve('networks');

function instance(nics: Array<{ network: string; address?: string }>): Instance {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name: 'web', namespace: 'default' },
    spec: { image: 'busybox', nics },
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('instance NICs', () => {
  let store: MemoryStore;
  let plumber: NicPlumber;
  let ipam: Ipam;
  beforeEach(async () => {
    store = new MemoryStore();
    ipam = new Ipam({ raw: store.raw });
    plumber = new NicPlumber({ store, networkKind, ipam, drivers: defaultNetworkDrivers(), memberName: 'm1', stateRoot: '/s' });
    const n = await store.create<Network>(networkKind, {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Network',
      metadata: { name: 'lan' },
      spec: { driver: 'vxlan', subnet: '10.42.0.0/24', dns: true },
    });
    await store.update<Network>(networkKind, { ...n, status: { members: [{ name: 'm1', ready: true }] } }, { subresource: 'status' });
    await store.create<Network>(networkKind, {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Network',
      metadata: { name: 'cold' },
      spec: { driver: 'bridge', subnet: '10.43.0.0/24' },
    });
  });
  afterEach(async () => {
    await store.close();
  });

  it('gives each NIC an address, the bridge of this member, the overlay MTU, a stable MAC and the gateway DNS', async () => {
    const plan = await plumber.prepare(instance([{ network: 'lan' }]));
    expect(plan.nics).to.have.length(1);
    expect(plan.nics[0]).to.deep.include({
      name: 'eth0',
      network: 'lan',
      address: '10.42.0.2/24',
      gateway: '10.42.0.1',
      mtu: 1450,
      link: plumbingNames({ network: 'lan', scope: 'm1', stateRoot: '/s' }).bridge,
    });
    expect(plan.nameservers).to.deep.equal(['10.42.0.1']);
    expect((await plumber.prepare(instance([{ network: 'lan' }]))).nics[0]?.address).to.equal('10.42.0.2/24');
  });

  it('waits for a network not ready on this member, and names a missing network', async () => {
    expect((await rejection(plumber.prepare(instance([{ network: 'cold' }])))).message).to.equal(
      'instance default/web nic 0: network "cold" is not ready on member m1 yet',
    );
    expect((await rejection(plumber.prepare(instance([{ network: 'nope' }])))).message).to.equal(
      'instance default/web nic 0: network "nope" does not exist',
    );
  });

  it('releases addresses of NICs the spec dropped, and all of them on release', async () => {
    await plumber.prepare(instance([{ network: 'lan' }, { network: 'lan', address: '10.42.0.9' }]));
    expect((await ipam.list('lan')).map((a) => a.address)).to.deep.equal(['10.42.0.2', '10.42.0.9']);
    await plumber.prepare(instance([{ network: 'lan' }]));
    expect((await ipam.list('lan')).map((a) => a.address)).to.deep.equal(['10.42.0.2']);
    await plumber.release(instance([]));
    expect(await ipam.listAll()).to.deep.equal([]);
  });

  it('renders a veth per plumbed NIC for LXC, with the default route on the first', () => {
    const lines = nicLines({
      containerName: 'c',
      hostname: 'web',
      rootfsPath: '/r',
      mounts: [],
      nics: [
        { name: 'eth0', network: 'lan', link: 'clbr1', address: '10.42.0.2/24', gateway: '10.42.0.1', mtu: 1450, mac: '0a:00:00:00:00:01' },
        { name: 'eth1', network: 'dmz', link: 'clbr2', address: '10.43.0.2/24', gateway: '10.43.0.1' },
      ],
    });
    expect(lines).to.deep.equal([
      'lxc.net.0.type = veth',
      'lxc.net.0.link = clbr1',
      'lxc.net.0.name = eth0',
      'lxc.net.0.flags = up',
      'lxc.net.0.hwaddr = 0a:00:00:00:00:01',
      'lxc.net.0.mtu = 1450',
      'lxc.net.0.ipv4.address = 10.42.0.2/24 10.42.0.255',
      'lxc.net.0.ipv4.gateway = 10.42.0.1',
      'lxc.net.1.type = veth',
      'lxc.net.1.link = clbr2',
      'lxc.net.1.name = eth1',
      'lxc.net.1.flags = up',
      'lxc.net.1.ipv4.address = 10.43.0.2/24 10.43.0.255',
    ]);
    expect(nicLines({ containerName: 'c', hostname: 'w', rootfsPath: '/r', mounts: [], nics: [] })).to.deep.equal([
      'lxc.net.0.type = empty',
    ]);
  });

  it('plumbs a NIC on an ovn network as a veth with a fixed host name and hooks that plug it into br-int of the member database', async () => {
    const drivers = defaultNetworkDrivers({ memberName: 'm1', dataDir: '/d' });
    const ovnPlumber = new NicPlumber({ store, networkKind, ipam, drivers, memberName: 'm1', stateRoot: '/d/networks' });
    const n = await store.create<Network>(networkKind, {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Network',
      metadata: { name: 'ov' },
      spec: { driver: 'ovn', subnet: '10.60.0.0/24' },
    });
    await store.update<Network>(networkKind, { ...n, status: { members: [{ name: 'm1', ready: true }] } }, { subresource: 'status' });
    const plan = await ovnPlumber.prepare(instance([{ network: 'ov' }]));
    const veth = vethHostName({ scope: 'm1', namespace: 'default', instance: 'web', nic: 0 });
    expect(veth).to.match(/^clp[0-9a-f]{11}$/);
    expect(plan.nics).to.deep.equal([
      {
        name: 'eth0',
        network: 'ov',
        hostInterface: veth,
        mtu: 1450,
        mac: plan.nics[0]?.mac,
        address: '10.60.0.2/24',
        gateway: '10.60.0.1',
        hooks: {
          up: `/d/ovs/ovs-port.sh up unix:/d/ovs/db.sock br-int ${veth} cl-ov-default-web-0 ov`,
          down: `/d/ovs/ovs-port.sh down unix:/d/ovs/db.sock br-int ${veth}`,
          startHost: '/d/ovs/ovs-port.sh offload eth0',
        },
      },
    ]);
    expect(plan.nameservers).to.deep.equal([]);
  });

  it('quotes hook arguments that the shell would split', () => {
    const cmds = portHookCommands(
      { hook: "/data dir/o'vs.sh", db: 'unix:/d/db.sock', bridge: 'br-int', ifaceId: 'cl-a-b-c-0', network: 'a' },
      'clp1',
    );
    expect(cmds.down).to.equal(`'/data dir/o'\\''vs.sh' down unix:/d/db.sock br-int clp1`);
  });

  const nicTable: Array<{ name: string; nics: NicSpec[]; lines: string[] }> = [
    {
      name: 'a bridge NIC: link, no pair, no scripts',
      nics: [{ name: 'eth0', network: 'lan', link: 'clbr1', address: '10.42.0.2/24' }],
      lines: [
        'lxc.net.0.type = veth',
        'lxc.net.0.link = clbr1',
        'lxc.net.0.name = eth0',
        'lxc.net.0.flags = up',
        'lxc.net.0.ipv4.address = 10.42.0.2/24 10.42.0.255',
      ],
    },
    {
      name: 'an ovs-port NIC: no link, a fixed host name, up and down scripts, the gateway route',
      nics: [
        {
          name: 'eth0',
          network: 'ov',
          hostInterface: 'clp0123',
          mtu: 1450,
          address: '10.60.0.2/24',
          gateway: '10.60.0.1',
          hooks: { up: '/h up x', down: '/h down x', startHost: '/h offload eth0' },
        },
      ],
      lines: [
        'lxc.net.0.type = veth',
        'lxc.net.0.veth.pair = clp0123',
        'lxc.net.0.name = eth0',
        'lxc.net.0.flags = up',
        'lxc.net.0.mtu = 1450',
        'lxc.net.0.ipv4.address = 10.60.0.2/24 10.60.0.255',
        'lxc.net.0.ipv4.gateway = 10.60.0.1',
        'lxc.net.0.script.up = /h up x',
        'lxc.net.0.script.down = /h down x',
        'lxc.hook.start-host = /h offload eth0',
      ],
    },
    {
      name: 'a NIC with neither link nor hooks: left out',
      nics: [
        { name: 'eth0', network: 'x' },
        { name: 'eth1', network: 'lan', link: 'clbr1' },
      ],
      lines: ['lxc.net.0.type = veth', 'lxc.net.0.link = clbr1', 'lxc.net.0.name = eth1', 'lxc.net.0.flags = up'],
    },
  ];
  for (const row of nicTable) {
    it(`renders ${row.name}`, () => {
      expect(nicLines({ containerName: 'c', hostname: 'w', rootfsPath: '/r', mounts: [], nics: row.nics })).to.deep.equal(row.lines);
    });
  }

  it('writes resolv.conf into the rootfs, replacing a symlink instead of following it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cloudlet-resolv-'));
    try {
      await mkdir(join(root, 'etc'));
      await symlink('/etc/hostname', join(root, 'etc', 'resolv.conf'));
      await writeResolvConf(root, { nics: [], nameservers: ['10.42.0.1'], search: ['default'] });
      expect(await readFile(join(root, 'etc', 'resolv.conf'), 'utf8')).to.equal(
        "# Written by Cloudlet from the instance's networks.\nnameserver 10.42.0.1\nsearch default\n",
      );
      expect(await readlink(join(root, 'etc', 'resolv.conf')).catch(() => 'not a link')).to.equal('not a link');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
