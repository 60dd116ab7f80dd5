/**
 * OvnDriver: a network is an OVN logical switch (`cl-<network>`) with one
 * logical switch port per NIC ("<mac> <ip>" addresses and port security),
 * spanning members over VXLAN tunnels between OVN chassis. Every member runs
 * ovsdb-server, ovs-vswitchd (userspace datapath, `datapath_type=netdev`, no
 * kernel module) and ovn-controller; the central member (plan.central) also
 * runs the NB/SB databases and ovn-northd, and only it writes the
 * northbound database. Instance NICs are veths whose host end is a br-int
 * port with `external_ids:iface-id=<logical port>`. Isolation between
 * networks comes from separate logical switches. No gateway, NAT or DNS
 * (see `info`). The daemons stop when the last OVN network leaves the
 * member; see ovn/supervisor.ts and ovn/uplink.ts.
 */
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ValidationError } from '../../../lib/errors.js';
import { hostRunner, type HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, pathExists, readFileIfExists, writeFileAtomic } from '../../../lib/host/fs.js';
import { INTEGRATION_BRIDGE, ovnLayout, SB_PORT, UPLINK_BRIDGE, type OvnLayout } from '../ovn/layout.js';
import { logicalPortName, logicalSwitchName, NETWORK_TAG, parsePorts, portCommands, switchCommand } from '../ovn/northbound.js';
import { ensurePortHook, portHookPath } from '../ovn/port-hook.js';
import { OvnSupervisor } from '../ovn/supervisor.js';
import { deviceWithAddress, Uplink } from '../ovn/uplink.js';
import type { NetworkDriver, NetworkDriverInfo, NetworkObservation, NetworkPlan, NicAttachment, NicRef, PlumbingNames } from './types.js';

/** MARKER is the file in a network's state dir that says this member built it with the ovn driver. */
const MARKER = 'ovn.json';

/** OvnDriverOptions: the member's identity (its chassis name) and data dir (`<dataDir>/ovs`, `<dataDir>/ovn`). */
export interface OvnDriverOptions {
  memberName: string;
  dataDir: string;
  host?: HostRunner;
}

/** OvnDriver implements NetworkDriver with OVN; see the file comment. */
export class OvnDriver implements NetworkDriver {
  readonly info: NetworkDriverInfo = {
    name: 'ovn',
    spansMembers: true,
    nat: false,
    dns: false,
    mtuOverhead: 50,
    attachment: 'ovs-port',
    central: true,
  };
  readonly layout: OvnLayout;
  readonly supervisor: OvnSupervisor;
  private readonly host: HostRunner;
  private readonly uplink: Uplink;

  constructor(private readonly o: OvnDriverOptions) {
    this.host = o.host ?? hostRunner;
    this.layout = ovnLayout(o.dataDir);
    this.supervisor = new OvnSupervisor({ host: this.host, layout: this.layout });
    this.uplink = new Uplink({ host: this.host, layout: this.layout, vsctl: (a) => this.supervisor.vsctl(a) });
  }

  private needs(plan: NetworkPlan): { local: string; central: NonNullable<NetworkPlan['central']> } {
    if (!plan.underlay)
      throw new ValidationError(
        `network "${plan.network}": the ovn driver needs this member's address (Member spec.address) as its tunnel endpoint`,
      );
    if (!plan.central)
      throw new ValidationError(
        `network "${plan.network}": the ovn driver needs a central member (a Ready control-plane member with an address)`,
      );
    return { local: plan.underlay.local, central: plan.central };
  }

  /** nbctl runs ovn-nbctl against the local northbound database (central member only). */
  private async nbctl(args: string[]): Promise<string> {
    return (await this.host.run(['ovn-nbctl', `--db=${this.layout.nbLocal}`, '--timeout=10', ...args], { timeoutMs: 20_000 })).stdout;
  }

  async ensure(plan: NetworkPlan): Promise<void> {
    const { local, central } = this.needs(plan);
    await OvnSupervisor.requireTools(central.local);
    await ensureDir(plan.names.stateDir, 0o755);
    await writeFileAtomic(join(plan.names.stateDir, MARKER), JSON.stringify({ network: plan.network }), { mode: 0o644 });
    // The chassis first: it moves the member address onto br-phy, which the central databases then listen on.
    await this.supervisor.ensureChassis({ systemId: this.o.memberName, encapIp: local, central: central.address }, () =>
      this.uplink.ensure(local),
    );
    await ensurePortHook(portHookPath(this.layout.ovsDir));
    if (!central.local) return;
    await this.supervisor.ensureCentral(central.address);
    await this.nbctl(switchCommand({ network: plan.network, subnet: plan.subnet }));
    for (const cmd of portCommands({ network: plan.network, existing: await this.ports(plan.network), planned: plan.ports ?? [] }))
      await this.nbctl(cmd);
  }

  /** ports lists the network's logical switch ports in the northbound database. */
  private async ports(network: string): Promise<ReturnType<typeof parsePorts>> {
    return parsePorts(
      await this.nbctl([
        '--format=json',
        '--columns=name,addresses,port_security',
        'find',
        'logical_switch_port',
        `external_ids:${NETWORK_TAG}=${network}`,
      ]),
    );
  }

  async observe(plan: NetworkPlan): Promise<NetworkObservation> {
    if (!(await pathExists(join(plan.names.stateDir, MARKER))))
      return { exists: false, ready: false, problems: [`network ${plan.network} is not built on this member`] };
    const problems: string[] = [];
    if (plan.nat) problems.push('nat is not supported by the ovn driver (no gateway router); set nat: false');
    const { local, central } = this.needs(plan);
    for (const d of await this.supervisor.states()) {
      const wanted = central.local || !['ovn-nb', 'ovn-sb', 'ovn-northd'].includes(d.name);
      if (wanted && d.pid === undefined) problems.push(`${d.name} is not running`);
    }
    if (problems.some((p) => p.startsWith('ovsdb-server '))) return { exists: true, ready: false, problems };
    const bridges = (await this.supervisor.vsctl(['list-br'])).split('\n');
    if (!bridges.includes(INTEGRATION_BRIDGE)) problems.push(`bridge ${INTEGRATION_BRIDGE} is missing`);
    const where = deviceWithAddress((await this.host.run(['ip', '-j', '-4', 'addr', 'show'])).stdout, local);
    if (where?.device !== UPLINK_BRIDGE) problems.push(`the tunnel endpoint ${local} is not on ${UPLINK_BRIDGE}`);
    const chassis = await this.host.run(
      [
        'ovn-sbctl',
        `--db=tcp:${central.address}:${SB_PORT}`,
        '--timeout=5',
        '--bare',
        '--columns=name',
        'find',
        'chassis',
        `name=${this.o.memberName}`,
      ],
      { okExitCodes: [0, 1], timeoutMs: 10_000 },
    );
    if (chassis.stdout.trim() !== this.o.memberName)
      problems.push(`chassis ${this.o.memberName} is not registered at the central member ${central.member} (${central.address})`);
    if (central.local && problems.every((p) => !p.startsWith('ovn-nb '))) {
      const ls = (
        await this.nbctl(['--bare', '--columns=name', 'find', 'logical_switch', `name=${logicalSwitchName(plan.network)}`])
      ).trim();
      if (ls === '') problems.push(`logical switch ${logicalSwitchName(plan.network)} is missing`);
      const diff = portCommands({ network: plan.network, existing: await this.ports(plan.network), planned: plan.ports ?? [] });
      if (diff.length > 0) problems.push(`${diff.length} logical port(s) of ${logicalSwitchName(plan.network)} differ from the plan`);
    }
    return { exists: true, ready: problems.length === 0, problems };
  }

  async remove(names: PlumbingNames): Promise<void> {
    const marker = await readFileIfExists(join(names.stateDir, MARKER));
    const network = marker ? (JSON.parse(marker) as { network: string }).network : basename(names.stateDir);
    const daemons = new Map((await this.supervisor.states()).map((d) => [d.name, d.pid]));
    if (daemons.get('ovn-nb') !== undefined) await this.nbctl(['--if-exists', 'ls-del', logicalSwitchName(network)]);
    if (daemons.get('ovsdb-server') !== undefined) {
      for (const port of await this.ovsPorts(network)) await this.supervisor.vsctl(['--if-exists', 'del-port', INTEGRATION_BRIDGE, port]);
    }
    await rm(names.stateDir, { recursive: true, force: true });
    if (!(await this.anyNetworkLeft(dirname(names.stateDir)))) await this.shutdown();
  }

  /** shutdown gives the member address back to its device and stops every OVS/OVN daemon; `keepState` keeps conf.db (ports survive a restart). */
  async shutdown(opts: { keepState?: boolean } = {}): Promise<void> {
    const states = new Map((await this.supervisor.states()).map((d) => [d.name, d.pid]));
    if (states.get('ovsdb-server') !== undefined) await this.uplink.release();
    await this.supervisor.stopChassis({ keepState: opts.keepState ?? false });
    await this.supervisor.stopCentral({ keepState: opts.keepState ?? false });
  }

  private async anyNetworkLeft(stateRoot: string): Promise<boolean> {
    let entries: string[] = [];
    try {
      entries = await readdir(stateRoot);
    } catch {
      return false;
    }
    for (const e of entries) if (await pathExists(join(stateRoot, e, MARKER))) return true;
    return false;
  }

  /** ovsPorts lists the br-int interfaces plugged for `network`. */
  private async ovsPorts(network: string): Promise<string[]> {
    const out = await this.supervisor.vsctl(['--bare', '--columns=name', 'find', 'interface', `external_ids:${NETWORK_TAG}=${network}`]);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }

  /** plug makes host interface `device` a br-int port bound to logical port `port` of `network` (idempotent). */
  async plug(opts: { device: string; port: string; network: string }): Promise<void> {
    await this.supervisor.vsctl([
      '--may-exist',
      'add-port',
      INTEGRATION_BRIDGE,
      opts.device,
      '--',
      'set',
      'interface',
      opts.device,
      `external_ids:iface-id=${opts.port}`,
      `external_ids:${NETWORK_TAG}=${opts.network}`,
    ]);
  }

  /** unplug removes host interface `device` from br-int (absent is fine). */
  async unplug(device: string): Promise<void> {
    await this.supervisor.vsctl(['--if-exists', 'del-port', INTEGRATION_BRIDGE, device]);
  }

  attachment(plan: NetworkPlan, nic?: NicRef): NicAttachment {
    if (!nic) throw new ValidationError(`network "${plan.network}": an ovn attachment needs the NIC it is for`);
    return {
      link: '',
      mtu: plan.mtu,
      ovs: {
        bridge: INTEGRATION_BRIDGE,
        db: this.layout.ovsDb,
        ifaceId: logicalPortName({ network: plan.network, ...nic }),
        hook: portHookPath(this.layout.ovsDir),
      },
    };
  }
}
