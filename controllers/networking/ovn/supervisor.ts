/**
 * OvnSupervisor starts, checks, restarts and stops one member's Open vSwitch
 * and OVN daemons. Daemons run detached (their own --detach/--pidfile modes,
 * started through the HostRunner) and are found again through their pid
 * files, checked against /proc/<pid>/cmdline so a reused pid is never taken
 * for ours. `ensure*` is idempotent and restarts whatever died (the network
 * agent calls it on every resync, which is the supervision loop); `stop*`
 * ends daemons by PID (SIGTERM, then SIGKILL) and removes their state.
 */
import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, pathExists, readFileIfExists } from '../../../lib/host/fs.js';
import { which } from '../../../lib/host/which.js';
import {
  centralDaemons,
  chassisDaemons,
  chassisSettings,
  INTEGRATION_BRIDGE,
  NB_SCHEMA,
  SB_SCHEMA,
  UPLINK_BRIDGE,
  VSWITCH_SCHEMA,
  type ChassisConfig,
  type DaemonSpec,
  type OvnLayout,
} from './layout.js';

/** OVN_PACKAGES maps the programs the supervisor needs to their Debian packages. */
export const OVN_PACKAGES: Record<string, string> = {
  'ovsdb-tool': 'openvswitch-common',
  'ovsdb-server': 'openvswitch-switch',
  'ovs-vswitchd': 'openvswitch-switch',
  'ovs-vsctl': 'openvswitch-switch',
  'ovn-controller': 'ovn-host',
  'ovn-northd': 'ovn-central',
  'ovn-nbctl': 'ovn-central',
  'ovn-sbctl': 'ovn-central',
};

/** DATAPATH_TAPS are the kernel devices ovs-vswitchd's netdev datapath makes in the member's namespace. */
export const DATAPATH_TAPS = ['ovs-netdev', INTEGRATION_BRIDGE, UPLINK_BRIDGE];

/** DaemonState is one daemon's pid when it runs. */
export interface DaemonState {
  name: DaemonSpec['name'];
  pid?: number;
}

/** OvnSupervisor: see the file comment. */
export class OvnSupervisor {
  constructor(private readonly o: { host: HostRunner; layout: OvnLayout }) {}

  /** requireTools fails with the `apt-get install` hint when a program is missing. */
  static async requireTools(central: boolean): Promise<void> {
    for (const [tool, pkg] of Object.entries(OVN_PACKAGES)) {
      if (!central && (tool === 'ovn-northd' || tool === 'ovn-nbctl')) continue;
      await which(tool, { package: pkg });
    }
  }

  /** pid returns the pid of the daemon behind `spec.pidfile` when it runs, else undefined. */
  async pid(spec: DaemonSpec): Promise<number | undefined> {
    const text = await readFileIfExists(spec.pidfile);
    const pid = text ? Number(text.trim()) : NaN;
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.split('\0').includes(`--pidfile=${spec.pidfile}`) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** states reports every chassis and central daemon with its pid (absent when not running). */
  async states(): Promise<DaemonState[]> {
    const out: DaemonState[] = [];
    for (const d of [...chassisDaemons(this.o.layout), ...centralDaemons(this.o.layout, '0.0.0.0')]) {
      const pid = await this.pid(d);
      out.push(pid === undefined ? { name: d.name } : { name: d.name, pid });
    }
    return out;
  }

  /** ensureCentral creates the NB/SB databases when absent and starts whichever of NB, SB and northd is not running. */
  async ensureCentral(address: string): Promise<void> {
    const l = this.o.layout;
    await ensureDir(l.ovnDir, 0o755);
    await this.createDb(l.nbDb, NB_SCHEMA);
    await this.createDb(l.sbDb, SB_SCHEMA);
    for (const d of centralDaemons(l, address)) await this.start(d);
  }

  /**
   * ensureChassis starts ovsdb-server and ovs-vswitchd, configures the chassis
   * (system-id, SB remote, VXLAN encap at `encapIp`), makes br-int
   * (datapath_type=netdev, fail-mode secure), runs `beforeController`
   * (the uplink), then starts ovn-controller.
   */
  async ensureChassis(c: ChassisConfig, beforeController: () => Promise<void>): Promise<void> {
    const l = this.o.layout;
    await ensureDir(l.ovsDir, 0o755);
    await this.createDb(l.confDb, VSWITCH_SCHEMA);
    const [dbServer, vswitchd, controller] = chassisDaemons(l);
    if (!dbServer || !vswitchd || !controller) throw new Error('chassisDaemons: incomplete');
    await this.start(dbServer);
    await this.vsctl(['--no-wait', 'init']);
    await this.start(vswitchd);
    await this.vsctl(chassisSettings(c));
    await this.vsctl([
      '--may-exist',
      'add-br',
      INTEGRATION_BRIDGE,
      '--',
      'set',
      'bridge',
      INTEGRATION_BRIDGE,
      'datapath_type=netdev',
      'fail-mode=secure',
    ]);
    await beforeController();
    await this.start(controller);
  }

  /** vsctl runs ovs-vsctl against this member's database. */
  async vsctl(args: string[]): Promise<string> {
    const r = await this.o.host.run(['ovs-vsctl', `--db=${this.o.layout.ovsDb}`, '--timeout=10', ...args], { timeoutMs: 20_000 });
    return r.stdout;
  }

  /** stopChassis ends ovn-controller (letting it remove its chassis record first), ovs-vswitchd and ovsdb-server, and removes `<dataDir>/ovs` unless `keepState`. */
  async stopChassis(opts: { keepState?: boolean } = {}): Promise<void> {
    const [dbServer, vswitchd, controller] = chassisDaemons(this.o.layout);
    if (controller) {
      const pid = await this.pid(controller);
      if (pid !== undefined) {
        // `exit` (not SIGTERM) makes ovn-controller delete its Chassis row from the southbound database.
        const ctl = `${this.o.layout.ovsDir}/ovn-controller.${pid}.ctl`;
        await this.o.host
          .run(['ovs-appctl', `--target=${ctl}`, '--timeout=5', 'exit'], { okExitCodes: [0, 1, 2], timeoutMs: 10_000 })
          .catch(() => undefined);
      }
      await this.stop(controller);
    }
    if (!opts.keepState && dbServer && (await this.pid(dbServer)) !== undefined)
      await this.vsctl(['--if-exists', 'del-br', INTEGRATION_BRIDGE]);
    for (const d of [vswitchd, dbServer]) if (d) await this.stop(d);
    // The userspace datapath's tap devices outlive ovs-vswitchd; a restarted one makes them again.
    for (const tap of DATAPATH_TAPS) {
      const r = await this.o.host.run(['ip', 'link', 'show', 'dev', tap], { okExitCodes: [0, 1] });
      if (r.exitCode === 0) await this.o.host.run(['ip', 'link', 'del', 'dev', tap], { okExitCodes: [0, 1, 2] });
    }
    if (!opts.keepState) await rm(this.o.layout.ovsDir, { recursive: true, force: true });
  }

  /** stopCentral ends ovn-northd and the NB/SB databases and removes `<dataDir>/ovn` unless `keepState`. */
  async stopCentral(opts: { keepState?: boolean } = {}): Promise<void> {
    for (const d of centralDaemons(this.o.layout, '0.0.0.0').reverse()) await this.stop(d);
    if (!opts.keepState) await rm(this.o.layout.ovnDir, { recursive: true, force: true });
  }

  private async createDb(file: string, schema: string): Promise<void> {
    if (!(await pathExists(file))) await this.o.host.run(['ovsdb-tool', 'create', file, schema], { timeoutMs: 20_000 });
  }

  /** start starts the daemon unless it runs; a stale pid file is removed first. */
  private async start(d: DaemonSpec): Promise<void> {
    if ((await this.pid(d)) !== undefined) return;
    await rm(d.pidfile, { force: true });
    await this.o.host.run(d.argv, { timeoutMs: 30_000 });
  }

  /** stop sends SIGTERM to the daemon, waits up to 5 s, then SIGKILL; a daemon that is not running is fine. */
  private async stop(d: DaemonSpec): Promise<void> {
    const pid = await this.pid(d);
    if (pid !== undefined) {
      signal(pid, 'SIGTERM');
      for (let i = 0; (await this.pid(d)) !== undefined; i++) {
        if (i === 100) signal(pid, 'SIGKILL');
        if (i === 140) throw new TimeoutError(`${d.name} (pid ${pid}) did not stop after SIGTERM and SIGKILL`);
        await sleep(50);
      }
    }
    await rm(d.pidfile, { force: true });
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
