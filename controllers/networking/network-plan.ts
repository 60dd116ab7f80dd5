/**
 * Pure decisions of the network agent: is a Network valid among the others,
 * what plan does this member build for it, which names does its DNS answer,
 * and which underlay peers does it flood to. Table-tested; no side effects.
 */
import type { Member, Network } from '../../lib/kinds/types.js';
import type { Allocation } from './ipam.js';
import { addressPlan } from './subnet.js';
import { formatIp, overlaps, parseSubnet } from '../../lib/ipv4.js';
import { derivedVni, gatewayMac, plumbingNames } from './naming.js';
import type { CentralPlan, HostEntry, LogicalPortPlan, NetworkDriverInfo, NetworkPlan } from './drivers/types.js';
import { logicalPortName } from './ovn/northbound.js';
import { nicMac } from './naming.js';

/** UNDERLAY_MTU is the MTU assumed for the members' own network. */
export const UNDERLAY_MTU = 1500;

/** Validity is the verdict on a network spec: ok, or a reason and a message for the Ready condition. */
export type Validity = { ok: true } | { ok: false; reason: 'InvalidSpec' | 'SubnetOverlap' | 'UnknownDriver'; message: string };

function olderFirst(a: Network, b: Network): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta < tb ? -1 : ta > tb ? 1 : a.metadata.name.localeCompare(b.metadata.name);
}

/**
 * validateNetwork checks one network against the drivers known here and the
 * other networks: the subnet must parse and be /29 or larger, the gateway
 * must be a host address of it, and it must not overlap an older network
 * (the older one keeps its subnet; the newer one is refused).
 */
export function validateNetwork(net: Network, others: Network[], knownDrivers: string[]): Validity {
  const spec = net.spec;
  if (!spec) return { ok: false, reason: 'InvalidSpec', message: 'spec is missing' };
  if (!knownDrivers.includes(spec.driver)) {
    return {
      ok: false,
      reason: 'UnknownDriver',
      message: `network driver "${spec.driver}" is not available; known drivers: ${knownDrivers.join(', ')}`,
    };
  }
  let mine;
  try {
    mine = addressPlan(spec).subnet;
  } catch (err) {
    return { ok: false, reason: 'InvalidSpec', message: err instanceof Error ? err.message : String(err) };
  }
  for (const o of [...others].sort(olderFirst)) {
    if (o.metadata.name === net.metadata.name || !o.spec || o.metadata.deletionTimestamp) continue;
    if (olderFirst(o, net) > 0) continue;
    let theirs;
    try {
      theirs = parseSubnet(o.spec.subnet);
    } catch {
      continue;
    }
    if (overlaps(mine, theirs)) {
      return { ok: false, reason: 'SubnetOverlap', message: `subnet ${mine.cidr} overlaps ${theirs.cidr} of network "${o.metadata.name}"` };
    }
  }
  return { ok: true };
}

/** hostEntries turns a network's allocations into DNS names: `<instance>` and `<instance>.<namespace>`. */
export function hostEntries(allocations: Allocation[]): HostEntry[] {
  return allocations.map((a) => {
    const { namespace, instance, nic } = a.owner;
    // The first NIC answers to the bare instance name; further NICs get an ethN-prefixed name.
    const base = nic === 0 ? [instance, `${instance}.${namespace}`] : [`eth${nic}.${instance}`, `eth${nic}.${instance}.${namespace}`];
    return { address: a.address, names: base };
  });
}

/** underlayPeers lists the addresses of the other Ready members that have one, sorted. */
export function underlayPeers(members: Member[], self: string): string[] {
  return members
    .filter((m) => m.metadata.name !== self && m.status?.phase === 'Ready' && m.spec?.address && !m.metadata.deletionTimestamp)
    .map((m) => m.spec?.address ?? '')
    .sort();
}

/** PlanInput is what planNetwork needs: the network, this member, the driver, peers and names. */
export interface PlanInput {
  network: Network;
  driver: NetworkDriverInfo;
  /** scope makes kernel names unique when members share a kernel (member name) */
  scope: string;
  stateRoot: string;
  /** localAddress is this member's underlay address (Member spec.address) */
  localAddress?: string;
  peers: string[];
  hosts: HostEntry[];
}

/** planNetwork computes the plan a driver builds on this member; addressPlan errors propagate. */
export function planNetwork(input: PlanInput): NetworkPlan {
  const spec = input.network.spec;
  if (!spec) throw new Error(`network "${input.network.metadata.name}" has no spec`);
  const name = input.network.metadata.name;
  const ap = addressPlan(spec);
  return {
    network: name,
    names: plumbingNames({ network: name, scope: input.scope, stateRoot: input.stateRoot }),
    subnet: ap.subnet.cidr,
    gateway: formatIp(ap.gateway),
    prefix: ap.subnet.prefix,
    gatewayMac: gatewayMac(name),
    nat: spec.nat ?? false,
    dns: (spec.dns ?? true) && input.driver.dns,
    mtu: spec.mtu ?? UNDERLAY_MTU - input.driver.mtuOverhead,
    vni: spec.vni ?? derivedVni(name),
    underlay: input.driver.spansMembers && input.localAddress ? { local: input.localAddress, peers: input.peers } : undefined,
    hosts: input.hosts,
  };
}

/**
 * centralMember picks the member that runs the central network databases:
 * the first (by name) Ready control-plane member with an address, or, when
 * no member has roles, the first Ready member with an address; `self`
 * counts as Ready. Undefined when there is none.
 */
export function centralMember(members: Member[], self: string): CentralPlan | undefined {
  const usable = members
    .filter((m) => (m.metadata.name === self || m.status?.phase === 'Ready') && m.spec?.address && !m.metadata.deletionTimestamp)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const anyRoles = members.some((m) => (m.spec?.roles ?? []).length > 0);
  const pick = anyRoles ? usable.find((m) => m.spec?.roles?.includes('control-plane')) : usable[0];
  if (!pick?.spec?.address) return undefined;
  return { member: pick.metadata.name, address: pick.spec.address, local: pick.metadata.name === self };
}

/** logicalPorts turns a network's allocations into one logical port per NIC (name, stable MAC, address), sorted by name. */
export function logicalPorts(network: string, allocations: Allocation[]): LogicalPortPlan[] {
  return allocations
    .map((a) => ({ name: logicalPortName({ network, ...a.owner }), mac: nicMac(a.owner), address: a.address }))
    .sort((x, y) => x.name.localeCompare(y.name));
}
