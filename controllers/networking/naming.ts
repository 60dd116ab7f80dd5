/**
 * Kernel names of network plumbing. Linux interface names are at most 15
 * characters and unique per network namespace, and several members may share
 * one kernel (the lab, tests), so names carry a short hash of the member's
 * scope and the network name.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { PlumbingNames } from './drivers/types.js';

/** BRIDGE_PREFIX starts every bridge Cloudlet makes; isolation rules match on it. */
export const BRIDGE_PREFIX = 'clbr';
/** OVERLAY_PREFIX starts every VXLAN device Cloudlet makes. */
export const OVERLAY_PREFIX = 'clvx';

function shortHash(text: string, chars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, chars);
}

/**
 * plumbingNames names a network's plumbing for one member: `clbr<10 hex>`,
 * `clvx<10 hex>` (14 chars), nft table `cloudlet-<network>-<6 hex>`, and a
 * state dir under `stateRoot`. `scope` is the member's identity (name or data
 * dir) so members sharing a kernel never collide.
 */
export function plumbingNames(opts: { network: string; scope: string; stateRoot: string }): PlumbingNames {
  const h = shortHash(`${opts.scope}\0${opts.network}`, 10);
  return {
    bridge: `${BRIDGE_PREFIX}${h}`,
    overlay: `${OVERLAY_PREFIX}${h}`,
    nftTable: `cloudlet-${opts.network}-${h.slice(0, 6)}`,
    stateDir: join(opts.stateRoot, opts.network),
  };
}

/** gatewayMac derives the network's gateway MAC (locally administered, unicast) from its name: equal on every member. */
export function gatewayMac(network: string): string {
  const h = shortHash(`gateway\0${network}`, 10);
  return ['02', ...(h.match(/../g) ?? [])].join(':');
}

/** derivedVni is the VXLAN id of a network without `spec.vni`: a hash of its name in 1..2^24−1, equal on every member. */
export function derivedVni(network: string): number {
  return (parseInt(shortHash(`vni\0${network}`, 6), 16) % 0xfffffe) + 1;
}

/** nicMac derives a stable MAC for an instance NIC, so ARP caches survive restarts. */
export function nicMac(opts: { namespace: string; instance: string; nic: number }): string {
  const h = shortHash(`nic\0${opts.namespace}\0${opts.instance}\0${opts.nic}`, 10);
  return ['0a', ...(h.match(/../g) ?? [])].join(':');
}

/** VETH_PREFIX starts the fixed host-end names of instance veths that hooks plumb (ovs-port NICs). */
export const VETH_PREFIX = 'clp';

/** vethHostName names an instance NIC's host veth end: `clp<11 hex>` (14 chars) of the member's scope and the NIC, so members sharing a kernel never collide. */
export function vethHostName(opts: { scope: string; namespace: string; instance: string; nic: number }): string {
  return `${VETH_PREFIX}${shortHash(`veth\0${opts.scope}\0${opts.namespace}\0${opts.instance}\0${opts.nic}`, 11)}`;
}
