/**
 * Escape attempts on real LXC (busybox containers), table-driven: every
 * attempt of escape-attempts.ts runs as root inside a default (unprivileged)
 * container and inside a privileged one. Each must fail in the unprivileged
 * container; the privileged container's results are recorded, not asserted
 * (they are the table in docs/security.md, printed at the end of the run).
 * Also: what an unprivileged container looks like from the host.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import type { ImageInfo } from '../../../controllers/instances/images/types.js';
import { covers, parseSubids, sharedIdmap } from '../../../controllers/instances/security/idmap.js';
import type { ContainerSpec } from '../../../controllers/instances/runtimes/types.js';
import { readCgroupLimits } from '../../../lib/host/cgroup.js';
import { ESCAPE_ATTEMPTS, type HostFacts } from './escape-attempts.js';
import { capture, makeLab, preflight, type LxcLab } from './helpers.js';

const MiB = 2 ** 20;
const MAP = sharedIdmap();

/** preflightIdmap fails (never skips) when root has no subordinate ids for the shared map. */
async function preflightIdmap(): Promise<void> {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (!covers(parseSubids(text), MAP))
      throw new Error(`${file} reserves no ids ${MAP.hostId}-${MAP.hostId + MAP.size - 1} for root: run deploy/subids.sh as root`);
  }
}

interface Outcome {
  attempt: string;
  escaped: boolean;
  detail: string;
}

describe('escape attempts on real LXC', function () {
  this.timeout(300_000);
  let lab: LxcLab;
  let image: ImageInfo;
  let marker: ChildProcess | undefined;
  let facts: HostFacts;
  const results: Record<'unprivileged' | 'privileged', Outcome[]> = { unprivileged: [], privileged: [] };

  before(async () => {
    await preflight();
    await preflightIdmap();
    lab = await makeLab('cl-escape-');
    // mkdtemp makes 0700: the mapped root must be able to walk to its rootfs.
    await chmod(lab.dataDir, 0o711);
    image = await new ImageStore({ imagesDir: join(lab.dataDir, 'images') }).ensure('busybox');
    const secretPath = join(lab.dataDir, 'admin-token');
    const secret = `secret-${process.pid}`;
    await writeFile(secretPath, secret, { mode: 0o600 });
    marker = spawn('sleep', ['600'], { argv0: 'cl-escape-marker', stdio: 'ignore' });
    const disk =
      (await readFile('/proc/self/mountinfo', 'utf8'))
        .split('\n')
        .find((l) => l.split(' ')[4] === '/')
        ?.split(' ')[2] ?? '8:0';
    facts = {
      blockDevice: disk,
      hostPid: marker.pid ?? 1,
      secretPath,
      secret,
      swappiness: (await readFile('/proc/sys/vm/swappiness', 'utf8')).trim(),
      hostname: hostname(),
    };
  });
  after(async () => {
    if (marker?.pid !== undefined && marker.exitCode === null) process.kill(marker.pid, 'SIGKILL');
    await lab?.cleanup();
    for (const mode of ['unprivileged', 'privileged'] as const) {
      if (results[mode].length === 0) continue;
      console.log(
        `\n${mode}:\n${results[mode].map((r) => `| ${r.attempt} | ${r.escaped ? 'SUCCEEDS' : 'fails'} | ${r.detail} |`).join('\n')}`,
      );
    }
  });

  async function startContainer(name: string, extra: Partial<ContainerSpec>): Promise<{ spec: ContainerSpec; pid: number }> {
    const spec = await lab.spec(name, image, { memoryBytes: 128 * MiB, processes: 2000, ...extra });
    await lab.runtime.ensureCreated(spec);
    await lab.runtime.start(spec.containerName);
    const obs = await lab.runtime.observe(spec.containerName);
    expect(obs.state).to.equal('RUNNING');
    return { spec, pid: obs.pid ?? 0 };
  }

  async function attempt(
    mode: 'unprivileged' | 'privileged',
    c: { spec: ContainerSpec; pid: number },
    a: (typeof ESCAPE_ATTEMPTS)[number],
  ): Promise<Outcome> {
    const out = capture();
    const memoryBytes = (await readCgroupLimits(c.pid)).memoryBytes;
    const code = await lab.runtime.exec(c.spec.containerName, ['sh', '-c', a.script(facts)], {
      stdin: 'ignore',
      stdout: out.stream,
      stderr: out.stream,
      timeoutMs: 30_000,
    });
    const seen = a.hostCheck ? await a.hostCheck({ facts, initPid: c.pid, containerName: c.spec.containerName, memoryBytes }) : undefined;
    const byExit = !a.hostDecides && code === 0;
    const text = out.text().trim().split('\n').slice(-1)[0] ?? '';
    const outcome = { attempt: a.name, escaped: byExit || seen !== undefined, detail: seen ?? (text || `exit ${code}`) };
    results[mode].push(outcome);
    return outcome;
  }

  describe('a default (unprivileged) container', () => {
    let c: { spec: ContainerSpec; pid: number };
    before(async () => {
      c = await startContainer('unpriv', { idmap: { hostId: MAP.hostId, size: MAP.size } });
    });

    it('runs its root as the mapped host uid, with the map in /proc/self/uid_map', async () => {
      const status = await readFile(`/proc/${c.pid}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).to.equal(String(MAP.hostId));
      const out = capture();
      await lab.runtime.exec(c.spec.containerName, ['cat', '/proc/self/uid_map'], { stdin: 'ignore', stdout: out.stream });
      expect(out.text().trim().split(/\s+/)).to.deep.equal(['0', String(MAP.hostId), String(MAP.size)]);
    });

    it('keeps on-disk owners through its idmapped rootfs: a file root writes inside is owned by 0 on disk and by root inside', async () => {
      expect(
        await lab.runtime.exec(c.spec.containerName, ['sh', '-c', 'echo x > /root/made-inside && ls -ln /root/made-inside'], {
          stdin: 'ignore',
        }),
      ).to.equal(0);
      expect((await stat(join(c.spec.rootfsPath, 'root', 'made-inside'))).uid).to.equal(0);
    });

    for (const a of ESCAPE_ATTEMPTS) {
      it(`cannot ${a.name}`, async () => {
        const o = await attempt('unprivileged', c, a);
        expect(o.escaped, `${a.name}: ${o.detail}`).to.equal(false);
      });
    }
  });

  describe('a volume in an unprivileged container', () => {
    it('is writable by root inside through an idmapped bind mount, whatever the map', async () => {
      const vol = join(lab.dataDir, 'volumes', 'data');
      await mkdir(vol, { recursive: true });
      await writeFile(join(vol, 'from-host'), 'h');
      const other = { hostId: MAP.hostId + MAP.size, size: MAP.size };
      const v = await startContainer('vol', { idmap: other, mounts: [{ source: vol, path: '/data' }] });
      expect(
        await lab.runtime.exec(v.spec.containerName, ['sh', '-c', 'cat /data/from-host && echo y > /data/from-inside'], {
          stdin: 'ignore',
          stdout: capture().stream,
        }),
      ).to.equal(0);
      expect((await stat(join(vol, 'from-inside'))).uid).to.equal(0);
    });
  });

  describe('a privileged container (spec.security.privileged: results recorded, not asserted)', () => {
    let c: { spec: ContainerSpec; pid: number };
    before(async () => {
      c = await startContainer('priv', {});
    });
    for (const a of ESCAPE_ATTEMPTS) {
      it(`records whether it can ${a.name}`, async () => {
        const o = await attempt('privileged', c, a);
        expect(o.escaped).to.be.a('boolean');
      });
    }
  });
});
