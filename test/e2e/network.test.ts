/**
 * Networks end to end through the REAL daemon on the lab (deploy/lab/lab.sh):
 * two members in network namespaces, real LXC busybox instances pinned to
 * members with `spec.placement.member`. A vxlan network carries cross-member
 * ping by address and by name and NAT to the lab bridge's host address
 * (outside every instance network, never the internet); a second vxlan
 * network is isolated from it; an ovn network carries cross-member ping.
 * Deleting the instances and networks leaves nothing on any member: no
 * clbr/clvx/clp/OVS links, no cloudlet nft table, no dnsmasq, no OVS/OVN
 * daemon or state, and the ovn logical ports go with their instances.
 *
 * Runs its own lab (LAB_ID 7 unless NET_LAB_ID says otherwise, so it never
 * touches the default lab) and always takes it down in after(). Needs root,
 * iproute2, curl, etcd, the lxc tools, busybox-static, nftables, dnsmasq,
 * openvswitch-switch, ovn-central, ovn-host and ethtool.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../lib/kinds/registry.js';
import type { Instance, Network } from '../../lib/kinds/types.js';
import { eventually } from '../helpers/poll.js';

const root = projectRoot();
const lab = join(root, 'deploy', 'lab', 'lab.sh');
const MAIN = join(root, 'dist', 'cli', 'main.js');
const LAB_ID = process.env.NET_LAB_ID ?? '7';
const labDir = mkdtempSync(join(tmpdir(), 'cloudlet-lab-net-'));
const env: NodeJS.ProcessEnv = { ...process.env, LAB_DIR: labDir, LAB_ID };
delete env.NODE_OPTIONS; // the daemons and the CLI run compiled code
/** OUTSIDE is the lab bridge's host address: outside every instance network, reachable only through NAT. */
const OUTSIDE = `10.77.${LAB_ID}.1`;
const MEMBERS = ['m1', 'm2'];
const nsOf = (m: string): string => `${LAB_ID === '0' ? 'cl' : `cl${LAB_ID}`}-${m}`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((done) => {
    const child = execFile(
      file,
      args,
      { cwd: root, env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.on('error', () => undefined); // a tool that exits without reading its input
    child.stdin?.end(opts.input);
  });
}

const labSh = (...args: string[]): Promise<Ran> => run(lab, args, { timeoutMs: 600_000 });
let kubeconfig = '';
const cli = (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Ran> =>
  run('node', [MAIN, '--kubeconfig', kubeconfig, ...args], opts);

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  return (await eventually(what, fn, { timeoutMs, everyMs: 500 })) as T;
}

async function apply(obj: object): Promise<void> {
  const r = await cli(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
}

function network(name: string, spec: Network['spec']): object {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name }, spec };
}

function instance(name: string, member: string, net: string): object {
  placed.set(name, member);
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default' },
    spec: { image: 'busybox', memory: '64Mi', placement: { member }, nics: [{ network: net }] },
  };
}

async function getJson<T>(kind: string, name: string): Promise<T | undefined> {
  const r = await cli(['get', kind, name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as T;
}

/** count lists a kind and returns how many objects there are. */
async function count(kind: string): Promise<number | undefined> {
  const r = await cli(['get', kind, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { items?: unknown[] }).items?.length ?? 0;
}

/** networkReady waits for phase Ready and returns the network. */
const networkReady = (name: string): Promise<Network> =>
  waitFor(`network ${name} Ready`, async () => {
    const n = await getJson<Network>('network', name);
    return n?.status?.phase === 'Ready' ? n : undefined;
  });

/** runningAt waits for the instance to run with an address and returns that address. */
const runningAt = (name: string): Promise<string> =>
  waitFor(`instance ${name} Running with an address`, async () => {
    const i = await getJson<Instance>('instance', name);
    return i?.status?.phase === 'Running' ? i.status.addresses?.[0] : undefined;
  });

/** placed remembers which member each instance was pinned to: `cloudlet exec` runs on the instance's own member. */
const placed = new Map<string, string>();

/**
 * ping from inside an instance (`cloudlet exec` run in its member's
 * namespace through `lab.sh exec`, with that member's data dir): true when an
 * answer came back. A few tries: flows and ARP settle asynchronously.
 */
async function ping(from: string, target: string, tries = 5): Promise<boolean> {
  const member = placed.get(from) ?? 'm1';
  for (let i = 0; i < tries; i++) {
    const r = await labSh(
      'exec',
      member,
      '--',
      'node',
      MAIN,
      '--kubeconfig',
      kubeconfig,
      'exec',
      from,
      '--data-dir',
      join(labDir, member),
      '--',
      'ping',
      '-c',
      '1',
      '-W',
      '1',
      target,
    );
    if (r.code === 0) return true;
    if (!/packets transmitted/.test(r.stdout)) throw new Error(`exec in ${from} on ${member} failed: ${r.stderr}`);
  }
  return false;
}

const inNs = (m: string, argv: string[]): Promise<Ran> => run('ip', ['netns', 'exec', nsOf(m), ...argv]);

/** labDaemons lists dnsmasq, OVS and OVN processes whose command line names this lab's data dir. */
function labDaemons(): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (/(^|\/)(dnsmasq|ovsdb-server|ovs-vswitchd|ovn-controller|ovn-northd)\0/.test(cmd) && cmd.includes(labDir)) out.push(Number(pid));
    } catch {
      // the process ended
    }
  }
  return out;
}

describe('networks end to end on the lab (real daemon, real LXC, two members)', function () {
  this.timeout(900_000);

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, LXC): run the e2e tests as root');
    for (const [tool, pkg] of [
      ['ip', 'iproute2'],
      ['nft', 'nftables'],
      ['dnsmasq', 'dnsmasq-base'],
      ['ovs-vsctl', 'openvswitch-switch'],
      ['ovn-nbctl', 'ovn-central'],
      ['ovn-controller', 'ovn-host'],
      ['ethtool', 'ethtool'],
      ['lxc-start', 'lxc'],
    ] as const) {
      if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing: apt-get install ${pkg}`);
    }
    const up = await labSh('up', String(MEMBERS.length));
    if (up.code !== 0) throw new Error(`lab.sh up ${MEMBERS.length} failed: ${up.stderr}${up.stdout}`);
    kubeconfig = (await labSh('kubeconfig')).stdout.trim();
    if (!kubeconfig) throw new Error('no lab member API answers');
  });

  after(async () => {
    // lab.sh down stops the daemons, not the network plumbing's helpers: end any dnsmasq/OVS/OVN a failed test left, by PID.
    for (const pid of labDaemons()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const down = await labSh('down');
    if (down.code !== 0) console.error(`lab.sh down: ${down.stderr}`);
    rmSync(labDir, { recursive: true, force: true });
  });

  it('pings across members over vxlan by address and by name, reaches outside through NAT, and isolates a second network', async () => {
    await apply(network('lan', { driver: 'vxlan', subnet: '10.61.0.0/24', nat: true }));
    await apply(network('dmz', { driver: 'vxlan', subnet: '10.62.0.0/24' }));
    const lan = await networkReady('lan');
    await networkReady('dmz');
    expect(lan.status?.members?.map((m) => m.name).sort()).to.deep.equal(MEMBERS);
    await apply(instance('a1', 'm1', 'lan'));
    await apply(instance('a2', 'm2', 'lan'));
    await apply(instance('d1', 'm1', 'dmz'));
    const t0 = Date.now();
    const [a1, a2, d1] = [await runningAt('a1'), await runningAt('a2'), await runningAt('d1')];
    console.log(`      three busybox instances applied → Running with addresses: ${Date.now() - t0} ms`);
    expect([a1, a2, d1]).to.deep.equal(['10.61.0.2', '10.61.0.3', '10.62.0.2']);
    expect((await getJson<Instance>('instance', 'a2'))?.status?.member).to.equal('m2');

    expect(await ping('a1', a2), 'a1 → a2 by address').to.equal(true);
    expect(await ping('a2', a1), 'a2 → a1 by address').to.equal(true);
    expect(await ping('a1', 'a2'), 'a1 → a2 by name').to.equal(true);
    expect(await ping('a1', OUTSIDE), `a1 → ${OUTSIDE} through NAT`).to.equal(true);
    expect(await ping('d1', a1, 2), 'd1 (dmz) → a1 (lan) on the same member').to.equal(false);
    expect(await ping('d1', a2, 2), 'd1 (dmz) → a2 (lan) across members').to.equal(false);
  });

  it('pings across members over an ovn network and drops the logical ports with the instances', async () => {
    await apply(network('ov', { driver: 'ovn', subnet: '10.63.0.0/24' }));
    await networkReady('ov');
    await apply(instance('o1', 'm1', 'ov'));
    await apply(instance('o2', 'm2', 'ov'));
    const [o1, o2] = [await runningAt('o1'), await runningAt('o2')];
    expect(await ping('o1', o2, 20), 'o1 → o2 over ovn').to.equal(true);
    expect(await ping('o2', o1), 'o2 → o1 over ovn').to.equal(true);
    expect(await ping('o1', await runningAt('a2'), 2), 'ovn → lan').to.equal(false);

    const central = MEMBERS.find((m) => existsSync(join(labDir, m, 'ovn', 'ovnnb_db.sock')));
    expect(central, 'a member runs the OVN northbound database').to.not.equal(undefined);
    const nb = ['ovn-nbctl', `--db=unix:${join(labDir, central ?? '', 'ovn', 'ovnnb_db.sock')}`, '--bare', '--columns=name'];
    expect((await inNs(central ?? '', [...nb, 'list', 'logical_switch_port'])).stdout.split('\n').filter(Boolean).sort()).to.deep.equal([
      'cl-ov-default-o1-0',
      'cl-ov-default-o2-0',
    ]);
    for (const name of ['o1', 'o2']) expect((await cli(['delete', 'instance', name])).code).to.equal(0);
    await waitFor(
      'the ovn logical ports to go',
      async () => ((await inNs(central ?? '', [...nb, 'list', 'logical_switch_port'])).stdout.trim() === '' ? true : undefined),
      120_000,
    );
  });

  it('leaves no link, nft table, dnsmasq, OVS/OVN daemon or state on any member after the instances and networks are deleted', async () => {
    for (const name of ['a1', 'a2', 'd1', 'o1', 'o2']) await cli(['delete', 'instance', name, '--ignore-not-found']);
    await waitFor('every instance to go', async () => ((await count('instances')) === 0 ? true : undefined));
    for (const name of ['lan', 'dmz', 'ov']) {
      const del = await cli(['delete', 'network', name, '--timeout', '120s'], { timeoutMs: 150_000 });
      expect(del.code, `cloudlet delete network ${name}: ${del.stdout}${del.stderr}`).to.equal(0);
    }
    await waitFor('every network to go', async () => ((await count('networks')) === 0 ? true : undefined));
    await waitFor('OVS, OVN and dnsmasq processes of the lab to end', async () => (labDaemons().length === 0 ? true : undefined), 60_000);
    for (const m of MEMBERS) {
      const links = (await run('ip', ['-n', nsOf(m), '-o', 'link', 'show'])).stdout;
      expect(links, `${m} links`).to.not.match(/clbr|clvx|clp|br-int|br-phy|ovs-netdev|genev|vxlan_sys/);
      const tables = (await inNs(m, ['nft', 'list', 'tables'])).stdout;
      expect(tables, `${m} nft tables`).to.not.match(/cloudlet-/);
      expect(existsSync(join(labDir, m, 'ovs')), `${m} ovs state`).to.equal(false);
      expect(existsSync(join(labDir, m, 'ovn')), `${m} ovn state`).to.equal(false);
      const networksDir = join(labDir, m, 'networks');
      expect(existsSync(networksDir) ? readdirSync(networksDir) : [], `${m} network state dirs`).to.deep.equal([]);
      // The member's address is back on its own device (the ovn driver had moved it onto br-phy).
      expect((await run('ip', ['-n', nsOf(m), '-4', '-o', 'addr', 'show'])).stdout).to.include(`10.77.${LAB_ID}.1${m.slice(1)}/24`);
    }
  });
});
