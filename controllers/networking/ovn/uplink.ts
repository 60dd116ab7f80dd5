/**
 * The uplink: Open vSwitch's userspace datapath sends and receives tunnel
 * packets only through an OVS bridge that owns the tunnel endpoint address
 * (it does its own routing and ARP for tunnels). So the member's underlay
 * device becomes a port of `br-phy` (datapath_type=netdev) and its IPv4
 * addresses and routes move onto br-phy's internal port; `release` moves
 * them back. Which device they came from is recorded in
 * `<dataDir>/ovs/uplink.json`, so a restarted ovs-vswitchd (whose br-phy tap
 * comes back without addresses) gets them again on the next ensure.
 */
import { rm } from 'node:fs/promises';
import { NotFoundError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { readFileIfExists, writeFileAtomic } from '../../../lib/host/fs.js';
import { UPLINK_BRIDGE, type OvnLayout } from './layout.js';

/** UplinkRecord is what moved onto br-phy: the device, its addresses (CIDR) and its routes. */
export interface UplinkRecord {
  device: string;
  addresses: string[];
  routes: RouteEntry[];
}

/** RouteEntry is the part of `ip -j route` output that is moved: routes the kernel did not add itself. */
export interface RouteEntry {
  dst: string;
  gateway?: string;
  metric?: number;
}

interface AddrJson {
  ifname?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}
interface RouteJson {
  dst?: string;
  gateway?: string;
  protocol?: string;
  metric?: number;
}

/** deviceWithAddress finds the interface holding `address` in `ip -j -4 addr` output, with all its IPv4 CIDRs. */
export function deviceWithAddress(addrJson: string, address: string): { device: string; addresses: string[] } | undefined {
  const links = JSON.parse(addrJson || '[]') as AddrJson[];
  for (const l of links) {
    const infos = (l.addr_info ?? []).filter((a) => a.local !== undefined && (a.family === undefined || a.family === 'inet'));
    if (l.ifname && infos.some((a) => a.local === address))
      return { device: l.ifname, addresses: infos.map((a) => `${a.local ?? ''}/${a.prefixlen ?? 32}`) };
  }
  return undefined;
}

/** movableRoutes keeps the routes of `ip -j -4 route show dev X` that the kernel did not add for an address. */
export function movableRoutes(routeJson: string): RouteEntry[] {
  const routes = JSON.parse(routeJson || '[]') as RouteJson[];
  return routes
    .filter((r) => r.protocol !== 'kernel' && r.dst)
    .map((r) => ({
      dst: r.dst ?? '',
      ...(r.gateway ? { gateway: r.gateway } : {}),
      ...(r.metric !== undefined ? { metric: r.metric } : {}),
    }));
}

function routeArgv(r: RouteEntry, dev: string): string[] {
  return [
    'ip',
    'route',
    'replace',
    r.dst,
    ...(r.gateway ? ['via', r.gateway] : []),
    'dev',
    dev,
    ...(r.metric !== undefined ? ['metric', String(r.metric)] : []),
  ];
}

/** Uplink moves the member address onto br-phy and back; see the file comment. */
export class Uplink {
  constructor(private readonly o: { host: HostRunner; layout: OvnLayout; vsctl: (args: string[]) => Promise<string> }) {}

  private async record(): Promise<UplinkRecord | undefined> {
    const text = await readFileIfExists(this.o.layout.uplinkState);
    return text ? (JSON.parse(text) as UplinkRecord) : undefined;
  }

  /** ensure makes br-phy hold `address` with the device that had it as a port; a no-op when it already does. */
  async ensure(address: string): Promise<void> {
    const where = deviceWithAddress((await this.o.host.run(['ip', '-j', '-4', 'addr', 'show'])).stdout, address);
    let rec = await this.record();
    if (where && where.device !== UPLINK_BRIDGE) {
      const routes = movableRoutes((await this.o.host.run(['ip', '-j', '-4', 'route', 'show', 'dev', where.device])).stdout);
      rec = { device: where.device, addresses: where.addresses, routes };
      await writeFileAtomic(this.o.layout.uplinkState, JSON.stringify(rec), { mode: 0o644 });
    }
    if (!rec)
      throw new NotFoundError(`no interface on this member has the address ${address}; the ovn driver needs it as its tunnel endpoint`);
    await this.o.vsctl([
      '--may-exist',
      'add-br',
      UPLINK_BRIDGE,
      '--',
      'set',
      'bridge',
      UPLINK_BRIDGE,
      'datapath_type=netdev',
      '--',
      '--may-exist',
      'add-port',
      UPLINK_BRIDGE,
      rec.device,
    ]);
    if (where?.device === UPLINK_BRIDGE) return;
    for (const a of rec.addresses) {
      await this.o.host.run(['ip', 'addr', 'del', a, 'dev', rec.device], { okExitCodes: [0, 2] });
      await this.o.host.run(['ip', 'addr', 'replace', a, 'dev', UPLINK_BRIDGE]);
    }
    await this.o.host.run(['ip', 'link', 'set', 'dev', UPLINK_BRIDGE, 'up']);
    for (const r of rec.routes) await this.o.host.run(routeArgv(r, UPLINK_BRIDGE));
  }

  /** release gives the addresses and routes back to the original device and deletes br-phy; a no-op without a record. */
  async release(): Promise<void> {
    const rec = await this.record();
    if (!rec) return;
    await this.o.vsctl(['--if-exists', 'del-br', UPLINK_BRIDGE]);
    for (const a of rec.addresses) await this.o.host.run(['ip', 'addr', 'replace', a, 'dev', rec.device]);
    await this.o.host.run(['ip', 'link', 'set', 'dev', rec.device, 'up']);
    for (const r of rec.routes) await this.o.host.run(routeArgv(r, rec.device));
    await rm(this.o.layout.uplinkState, { force: true });
  }
}
