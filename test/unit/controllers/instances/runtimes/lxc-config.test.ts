import { expect } from 'chai';
import { limitSettings, renderLxcConfig, withBroadcast } from '../../../../../controllers/instances/runtimes/lxc-config.js';
import type { ContainerSpec } from '../../../../../controllers/instances/runtimes/types.js';

const spec: ContainerSpec = {
  containerName: 'cl-12345678-default_web',
  hostname: 'web',
  rootfsPath: '/data/rootfs/cl-12345678-default_web',
  cpu: 0.5,
  memoryBytes: 268435456,
  nics: [],
  mounts: [{ source: '/data/volumes/my data', path: '/srv/data', readOnly: true }],
  distro: 'busybox',
};

describe('lxc config', () => {
  it('sets v2 limits with memory.max and cpu.max', () => {
    expect(limitSettings({ cpu: 0.5, memoryBytes: 1024 }, { memory: 2, cpu: 2 })).to.deep.equal([
      ['memory.max', '1024'],
      ['cpu.max', '50000 100000'],
    ]);
  });

  it('sets v1 limits with limit_in_bytes and cfs quota', () => {
    expect(limitSettings({ cpu: 2, memoryBytes: 1024 }, { memory: 1, cpu: 1 })).to.deep.equal([
      ['memory.limit_in_bytes', '1024'],
      ['cpu.cfs_period_us', '100000'],
      ['cpu.cfs_quota_us', '200000'],
    ]);
  });

  it('lifts limits with the unlimited values', () => {
    expect(limitSettings({}, { memory: 2, cpu: 1 })).to.deep.equal([
      ['memory.max', 'max'],
      ['cpu.cfs_period_us', '100000'],
      ['cpu.cfs_quota_us', '-1'],
    ]);
  });

  it('renders rootfs, hostname, apparmor, console log, halt signal, limits, network and mounts', () => {
    const text = renderLxcConfig({
      spec,
      containerDir: '/data/lxc/c',
      layout: { memory: 1, cpu: 1 },
      include: '/usr/share/lxc/config/common.conf',
    });
    const lines = text.split('\n');
    expect(lines).to.include('lxc.include = /usr/share/lxc/config/common.conf');
    expect(lines).to.include('lxc.rootfs.path = dir:/data/rootfs/cl-12345678-default_web');
    expect(lines).to.include('lxc.uts.name = web');
    expect(lines).to.include('lxc.apparmor.profile = unconfined');
    expect(lines).to.include('lxc.console.logfile = /data/lxc/c/console.log');
    expect(lines).to.include('lxc.signal.halt = SIGUSR1');
    expect(lines).to.include('lxc.cgroup.memory.limit_in_bytes = 268435456');
    expect(lines).to.include('lxc.cgroup.cpu.cfs_quota_us = 50000');
    expect(lines).to.include('lxc.net.0.type = empty');
    expect(lines).to.include('lxc.mount.entry = /data/volumes/my\\040data srv/data none bind,ro 0 0');
  });

  it('uses cgroup2 keys on a unified host and the systemd halt signal for debian', () => {
    const text = renderLxcConfig({ spec: { ...spec, distro: 'debian' }, containerDir: '/c', layout: { memory: 2, cpu: 2 } });
    expect(text).to.contain('lxc.cgroup2.memory.max = 268435456\n');
    expect(text).to.contain('lxc.cgroup2.cpu.max = 50000 100000\n');
    expect(text).to.contain('lxc.signal.halt = SIGRTMIN+3\n');
    expect(text).to.not.contain('lxc.include');
  });

  it('renders the same text for the same spec', () => {
    const input = { spec, containerDir: '/c', layout: { memory: 1, cpu: 1 } as const };
    expect(renderLxcConfig(input)).to.equal(renderLxcConfig(input));
  });
});

describe('withBroadcast', () => {
  const rows: Array<[string, string]> = [
    ['10.42.0.2/24', '10.42.0.2/24 10.42.0.255'],
    ['10.42.0.2/16', '10.42.0.2/16 10.42.255.255'],
    ['192.168.7.9/29', '192.168.7.9/29 192.168.7.15'],
    ['10.0.0.5/32', '10.0.0.5/32 10.0.0.5'],
    ['172.16.0.1/0', '172.16.0.1/0 255.255.255.255'],
    ['fd00::2/64', 'fd00::2/64'],
    ['10.42.0.2', '10.42.0.2'],
    ['300.1.1.1/24', '300.1.1.1/24'],
  ];
  for (const [cidr, want] of rows) {
    it(`renders ${cidr} as "${want}"`, () => expect(withBroadcast(cidr)).to.equal(want));
  }
});
