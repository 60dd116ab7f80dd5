import { expect } from 'chai';
import { locateController, parseCgroupMounts, parseCpuMax, parseMemoryLimit, parseProcCgroup } from '../../../../lib/host/cgroup.js';
import { parseStatStartTicks } from '../../../../lib/host/proc.js';

const HYBRID = [
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
  '33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
].join('\n');
const UNIFIED = '30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate';

describe('cgroup layout', () => {
  it('finds v1 controllers and the v2 mount in mountinfo', () => {
    const m = parseCgroupMounts(HYBRID);
    expect(m).to.deep.equal([
      { mountPoint: '/sys/fs/cgroup/unified', version: 2, controllers: [] },
      { mountPoint: '/sys/fs/cgroup/memory', version: 1, controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', version: 1, controllers: ['cpu', 'cpuacct'] },
    ]);
  });

  it('locates memory on v1 in a hybrid layout', () => {
    const procCgroup = parseProcCgroup('4:memory:/lxc.payload.c1\n1:cpu,cpuacct:/lxc.payload.c1\n0::/lxc.payload.c1\n');
    const loc = locateController({ controller: 'memory', mounts: parseCgroupMounts(HYBRID), procCgroup, v2Controllers: ['hugetlb'] });
    expect(loc).to.deep.equal({ version: 1, dir: '/sys/fs/cgroup/memory/lxc.payload.c1' });
  });

  it('locates memory on v2 in a unified layout', () => {
    const loc = locateController({
      controller: 'memory',
      mounts: parseCgroupMounts(UNIFIED),
      procCgroup: parseProcCgroup('0::/lxc.payload.c1\n'),
      v2Controllers: ['cpu', 'memory', 'pids'],
    });
    expect(loc).to.deep.equal({ version: 2, dir: '/sys/fs/cgroup/lxc.payload.c1' });
  });

  it('reports a controller absent from both hierarchies as missing', () => {
    const loc = locateController({
      controller: 'memory',
      mounts: parseCgroupMounts(UNIFIED),
      procCgroup: parseProcCgroup('0::/x\n'),
      v2Controllers: ['pids'],
    });
    expect(loc).to.equal(undefined);
  });

  it('reads limits in both formats, unlimited as undefined', () => {
    expect(parseMemoryLimit('268435456\n')).to.equal(268435456);
    expect(parseMemoryLimit('max\n')).to.equal(undefined);
    expect(parseMemoryLimit('9223372036854771712\n')).to.equal(undefined);
    expect(parseCpuMax('50000 100000\n')).to.equal(0.5);
    expect(parseCpuMax('max 100000\n')).to.equal(undefined);
  });

  it('reads the start time field of /proc/<pid>/stat even with spaces in the name', () => {
    const stat = '1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000000 100';
    expect(parseStatStartTicks(stat)).to.equal(98765);
  });
});
