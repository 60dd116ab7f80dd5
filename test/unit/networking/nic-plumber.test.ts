import { expect } from 'chai';
import { mkdtemp, readFile, rm, symlink, mkdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import type { Instance, Network } from '../../../lib/kinds/types.js';
import { defaultNetworkDrivers } from '../../../controllers/networking/drivers/registry.js';
import { Ipam } from '../../../controllers/networking/ipam.js';
import { NicPlumber, writeResolvConf } from '../../../controllers/networking/nic-plumber.js';
import { nicLines } from '../../../controllers/instances/runtimes/lxc-config.js';
import { plumbingNames } from '../../../controllers/networking/naming.js';

const kinds = KindRegistry.load();
const networkKind = kinds.resolve('networks');

function instance(nics: Array<{ network: string; address?: string }>): Instance {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web', namespace: 'default' }, spec: { image: 'busybox', nics } };
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
    const n = await store.create<Network>(networkKind, { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name: 'lan' }, spec: { driver: 'vxlan', subnet: '10.42.0.0/24', dns: true } });
    await store.update<Network>(networkKind, { ...n, status: { members: [{ name: 'm1', ready: true }] } }, { subresource: 'status' });
    await store.create<Network>(networkKind, { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name: 'cold' }, spec: { driver: 'bridge', subnet: '10.43.0.0/24' } });
  });
  afterEach(async () => {
    await store.close();
  });

  it('gives each NIC an address, the bridge of this member, the overlay MTU, a stable MAC and the gateway DNS', async () => {
    const plan = await plumber.prepare(instance([{ network: 'lan' }]));
    expect(plan.nics).to.have.length(1);
    expect(plan.nics[0]).to.deep.include({ name: 'eth0', network: 'lan', address: '10.42.0.2/24', gateway: '10.42.0.1', mtu: 1450, link: plumbingNames({ network: 'lan', scope: 'm1', stateRoot: '/s' }).bridge });
    expect(plan.nameservers).to.deep.equal(['10.42.0.1']);
    expect((await plumber.prepare(instance([{ network: 'lan' }]))).nics[0]?.address).to.equal('10.42.0.2/24');
  });

  it('waits for a network not ready on this member, and names a missing network', async () => {
    expect((await rejection(plumber.prepare(instance([{ network: 'cold' }])))).message).to.equal('instance default/web nic 0: network "cold" is not ready on member m1 yet');
    expect((await rejection(plumber.prepare(instance([{ network: 'nope' }])))).message).to.equal('instance default/web nic 0: network "nope" does not exist');
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
      containerName: 'c', hostname: 'web', rootfsPath: '/r', mounts: [],
      nics: [
        { name: 'eth0', network: 'lan', link: 'clbr1', address: '10.42.0.2/24', gateway: '10.42.0.1', mtu: 1450, mac: '0a:00:00:00:00:01' },
        { name: 'eth1', network: 'dmz', link: 'clbr2', address: '10.43.0.2/24', gateway: '10.43.0.1' },
      ],
    });
    expect(lines).to.deep.equal([
      'lxc.net.0.type = veth', 'lxc.net.0.link = clbr1', 'lxc.net.0.name = eth0', 'lxc.net.0.flags = up', 'lxc.net.0.hwaddr = 0a:00:00:00:00:01',
      'lxc.net.0.mtu = 1450', 'lxc.net.0.ipv4.address = 10.42.0.2/24', 'lxc.net.0.ipv4.gateway = 10.42.0.1',
      'lxc.net.1.type = veth', 'lxc.net.1.link = clbr2', 'lxc.net.1.name = eth1', 'lxc.net.1.flags = up', 'lxc.net.1.ipv4.address = 10.43.0.2/24',
    ]);
    expect(nicLines({ containerName: 'c', hostname: 'w', rootfsPath: '/r', mounts: [], nics: [] })).to.deep.equal(['lxc.net.0.type = empty']);
  });

  it('writes resolv.conf into the rootfs, replacing a symlink instead of following it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cloudlet-resolv-'));
    try {
      await mkdir(join(root, 'etc'));
      await symlink('/etc/hostname', join(root, 'etc', 'resolv.conf'));
      await writeResolvConf(root, { nics: [], nameservers: ['10.42.0.1'], search: ['default'] });
      expect(await readFile(join(root, 'etc', 'resolv.conf'), 'utf8')).to.equal('# Written by Cloudlet from the instance\'s networks.\nnameserver 10.42.0.1\nsearch default\n');
      expect(await readlink(join(root, 'etc', 'resolv.conf')).catch(() => 'not a link')).to.equal('not a link');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
