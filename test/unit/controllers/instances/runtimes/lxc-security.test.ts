import { expect } from 'chai';
import { limitSettings, renderLxcConfig, securityLines } from '../../../../../controllers/instances/runtimes/lxc-config.js';
import type { ContainerSpec } from '../../../../../controllers/instances/runtimes/types.js';
import { canTraverse } from '../../../../../lib/host/security.js';
import { securityModuleCondition } from '../../../../../controllers/membership/member-agent.js';

const base: ContainerSpec = {
  containerName: 'cl-1-default_web',
  hostname: 'web',
  rootfsPath: '/data/rootfs/x',
  nics: [],
  mounts: [{ source: '/data/vol', path: '/srv' }],
};
const unpriv: ContainerSpec = { ...base, idmap: { hostId: 1_000_000, size: 65536 }, processes: 2000 };

describe('lxc config hardening', () => {
  it('maps an unprivileged container and mounts its rootfs and volumes idmapped', () => {
    const lines = renderLxcConfig({ spec: unpriv, containerDir: '/c', layout: { memory: 1, cpu: 1, pids: 1 } }).split('\n');
    expect(lines).to.include.members([
      'lxc.idmap = u 0 1000000 65536',
      'lxc.idmap = g 0 1000000 65536',
      'lxc.rootfs.options = idmap=container',
    ]);
    expect(lines).to.include('lxc.mount.entry = /data/vol srv none bind,idmap=container 0 0');
    expect(lines).to.include('lxc.cgroup.pids.max = 2000');
  });

  it('gives a privileged container no map and plain bind mounts', () => {
    const text = renderLxcConfig({ spec: base, containerDir: '/c', layout: { memory: 2, cpu: 2, pids: 2 } });
    expect(text).to.not.match(/idmap/);
    expect(text).to.include('lxc.mount.entry = /data/vol srv none bind 0 0');
  });

  for (const spec of [base, unpriv]) {
    it(`hardens a ${spec.idmap ? 'unprivileged' : 'privileged'} container: seccomp, read-only /proc/sys and /sys, capabilities, LSM`, () => {
      const lines = securityLines({ spec, apparmor: false });
      expect(lines).to.include.members([
        'lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp',
        'lxc.mount.auto =',
        'lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed',
        'lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio',
        'lxc.apparmor.profile = unconfined',
      ]);
      // the reset comes before the mounts it allows
      expect(lines.indexOf('lxc.mount.auto =')).to.be.lessThan(lines.indexOf('lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed'));
      expect(securityLines({ spec, apparmor: true })).to.include.members([
        'lxc.apparmor.profile = generated',
        'lxc.apparmor.allow_nesting = 0',
      ]);
    });
  }

  it('limits processes through pids.max when the host has the pids controller, and leaves it alone when unset', () => {
    expect(limitSettings({ processes: 500 }, { memory: undefined, cpu: undefined, pids: 2 })).to.deep.equal([['pids.max', '500']]);
    expect(limitSettings({}, { memory: undefined, cpu: undefined, pids: 2 })).to.deep.equal([]);
    expect(limitSettings({ processes: 500 }, { memory: undefined, cpu: undefined })).to.deep.equal([]);
  });

  const traverse: Array<[string, { mode: number; uid: number; gid: number }, boolean]> = [
    ['a 0755 root directory', { mode: 0o40755, uid: 0, gid: 0 }, true],
    ['a 0711 root directory', { mode: 0o40711, uid: 0, gid: 0 }, true],
    ['a 0700 root directory', { mode: 0o40700, uid: 0, gid: 0 }, false],
    ['a 0750 directory of its group', { mode: 0o40750, uid: 0, gid: 1_000_000 }, true],
    ['a 0700 directory it owns', { mode: 0o40700, uid: 1_000_000, gid: 0 }, true],
  ];
  for (const [name, st, ok] of traverse)
    it(`${ok ? 'lets' : 'does not let'} the mapped root through ${name}`, () => expect(canTraverse(st, 1_000_000)).to.equal(ok));

  it('reports a host without AppArmor on the Member rather than running unconfined silently', () => {
    expect(securityModuleCondition(false)).to.include({ type: 'SecurityModule', status: 'False', reason: 'NoAppArmor' });
    expect(securityModuleCondition(true)).to.include({ type: 'SecurityModule', status: 'True' });
  });
});
