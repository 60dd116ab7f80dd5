/**
 * Where one member's Open vSwitch and OVN daemons keep their databases,
 * sockets, pid files and logs, and the argv that starts each of them. Every
 * path lives under the member's data dir (`<dataDir>/ovs`, `<dataDir>/ovn`)
 * and every daemon gets explicit --pidfile/--log-file/--unixctl paths plus
 * OVS_RUNDIR/OVN_RUNDIR, so several members on one machine (network
 * namespaces) never share a socket. Pure: no side effects.
 */
import { join } from 'node:path';

/** VSWITCH_SCHEMA, NB_SCHEMA and SB_SCHEMA are the Debian packages' schema files. */
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
/** NB_PORT and SB_PORT are the TCP ports the central databases listen on at the central member's address. */
export const NB_PORT = 6641;
export const SB_PORT = 6642;
/** INTEGRATION_BRIDGE is where instance NICs join; UPLINK_BRIDGE holds the member address (the tunnel endpoint). */
export const INTEGRATION_BRIDGE = 'br-int';
export const UPLINK_BRIDGE = 'br-phy';

/** OvnLayout names every file of one member's OVS/OVN state. */
export interface OvnLayout {
  ovsDir: string;
  ovnDir: string;
  confDb: string;
  /** ovsDb is the `--db=` argument of ovs-vsctl for the member's local Open_vSwitch database */
  ovsDb: string;
  nbDb: string;
  sbDb: string;
  /** nbLocal is the `--db=` argument of ovn-nbctl on the central member */
  nbLocal: string;
  sbLocal: string;
  /** uplinkState records which device the member address came from, to give it back */
  uplinkState: string;
}

/** ovnLayout derives the layout from a member's data dir. */
export function ovnLayout(dataDir: string): OvnLayout {
  const ovsDir = join(dataDir, 'ovs');
  const ovnDir = join(dataDir, 'ovn');
  return {
    ovsDir,
    ovnDir,
    confDb: join(ovsDir, 'conf.db'),
    ovsDb: `unix:${join(ovsDir, 'db.sock')}`,
    nbDb: join(ovnDir, 'ovnnb_db.db'),
    sbDb: join(ovnDir, 'ovnsb_db.db'),
    nbLocal: `unix:${join(ovnDir, 'ovnnb_db.sock')}`,
    sbLocal: `unix:${join(ovnDir, 'ovnsb_db.sock')}`,
    uplinkState: join(ovsDir, 'uplink.json'),
  };
}

/** DaemonName names the daemons Cloudlet supervises. */
export type DaemonName = 'ovsdb-server' | 'ovs-vswitchd' | 'ovn-controller' | 'ovn-nb' | 'ovn-sb' | 'ovn-northd';

/** DaemonSpec is how to start one daemon (detached) and find it again (its pid file). */
export interface DaemonSpec {
  name: DaemonName;
  pidfile: string;
  logfile: string;
  /** argv starts the daemon in the background; it returns once the daemon is up */
  argv: string[];
}

function envFor(dir: string): string[] {
  return [
    'env',
    `OVS_RUNDIR=${dir}`,
    `OVS_DBDIR=${dir}`,
    `OVS_LOGDIR=${dir}`,
    `OVN_RUNDIR=${dir}`,
    `OVN_DBDIR=${dir}`,
    `OVN_LOGDIR=${dir}`,
  ];
}

function daemon(opts: { name: DaemonName; dir: string; file: string; program: string; args: string[]; unixctl: boolean }): DaemonSpec {
  const pidfile = join(opts.dir, `${opts.file}.pid`);
  const logfile = join(opts.dir, `${opts.file}.log`);
  const ctl = opts.unixctl ? [`--unixctl=${join(opts.dir, `${opts.file}.ctl`)}`] : [];
  return {
    name: opts.name,
    pidfile,
    logfile,
    argv: [
      ...envFor(opts.dir),
      opts.program,
      ...opts.args,
      `--pidfile=${pidfile}`,
      `--log-file=${logfile}`,
      ...ctl,
      '--detach',
      '--no-chdir',
    ],
  };
}

/** chassisDaemons are the daemons every member runs, in start order: ovsdb-server, ovs-vswitchd, ovn-controller. */
export function chassisDaemons(l: OvnLayout): DaemonSpec[] {
  return [
    daemon({
      name: 'ovsdb-server',
      dir: l.ovsDir,
      file: 'ovsdb-server',
      program: 'ovsdb-server',
      args: [l.confDb, `--remote=p${l.ovsDb}`],
      unixctl: true,
    }),
    daemon({ name: 'ovs-vswitchd', dir: l.ovsDir, file: 'ovs-vswitchd', program: 'ovs-vswitchd', args: [l.ovsDb], unixctl: true }),
    // ovn-controller has no --unixctl option: its control socket is $OVN_RUNDIR/ovn-controller.<pid>.ctl.
    daemon({ name: 'ovn-controller', dir: l.ovsDir, file: 'ovn-controller', program: 'ovn-controller', args: [l.ovsDb], unixctl: false }),
  ];
}

/** centralDaemons are the central member's daemons, in start order: the NB and SB databases (TCP on `address`), then ovn-northd. */
export function centralDaemons(l: OvnLayout, address: string): DaemonSpec[] {
  return [
    daemon({
      name: 'ovn-nb',
      dir: l.ovnDir,
      file: 'ovnnb_db',
      program: 'ovsdb-server',
      args: [l.nbDb, `--remote=p${l.nbLocal}`, `--remote=ptcp:${NB_PORT}:${address}`],
      unixctl: true,
    }),
    daemon({
      name: 'ovn-sb',
      dir: l.ovnDir,
      file: 'ovnsb_db',
      program: 'ovsdb-server',
      args: [l.sbDb, `--remote=p${l.sbLocal}`, `--remote=ptcp:${SB_PORT}:${address}`],
      unixctl: true,
    }),
    daemon({
      name: 'ovn-northd',
      dir: l.ovnDir,
      file: 'ovn-northd',
      program: 'ovn-northd',
      args: [`--ovnnb-db=${l.nbLocal}`, `--ovnsb-db=${l.sbLocal}`],
      unixctl: true,
    }),
  ];
}

/** ChassisConfig is what ovn-controller reads from the local Open_vSwitch row. */
export interface ChassisConfig {
  /** systemId is the chassis name in the southbound database: the member name */
  systemId: string;
  /** encapIp is this member's tunnel endpoint: its address */
  encapIp: string;
  /** central is the central member's address */
  central: string;
}

/** chassisSettings are the ovs-vsctl arguments that configure this member as an OVN chassis with VXLAN encapsulation (Geneve needs the kernel). */
export function chassisSettings(c: ChassisConfig): string[] {
  return [
    'set',
    'open_vswitch',
    '.',
    `external_ids:system-id=${c.systemId}`,
    `external_ids:ovn-remote=tcp:${c.central}:${SB_PORT}`,
    'external_ids:ovn-encap-type=vxlan',
    `external_ids:ovn-encap-ip=${c.encapIp}`,
    `external_ids:ovn-bridge=${INTEGRATION_BRIDGE}`,
    'external_ids:ovn-bridge-datapath-type=netdev',
  ];
}
