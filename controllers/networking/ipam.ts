/**
 * IPAM: cluster-wide address allocation in the raw key space of the store,
 * one key per address (`/cloudlet/ipam/<network>/<ip>` → owner). Claiming an
 * address is a create-if-absent (compare-and-swap on "absent"), so two
 * allocators can never both get one address, whichever member they run on.
 */
import { ConflictError, ValidationError } from '../../lib/errors.js';
import type { RawKV } from '../../lib/store/types.js';
import { hostAddresses, reservedReason, type AddressPlan } from './subnet.js';
import { formatIp, parseIp } from '../../lib/ipv4.js';
import { IPAM_PREFIX } from '../../lib/store/key-space.js';
export { IPAM_PREFIX };

/** NicOwner names the NIC holding an address: an instance's n-th NIC. */
export interface NicOwner {
  namespace: string;
  instance: string;
  nic: number;
}

/** Allocation is one held address. */
export interface Allocation {
  network: string;
  address: string;
  owner: NicOwner;
}

/** AllocateRequest asks for an address on a network for one NIC; `address` asks for a fixed one. */
export interface AllocateRequest {
  network: string;
  plan: AddressPlan;
  owner: NicOwner;
  address?: string;
}

/** ownerText encodes an owner as the key's value: `namespace/instance/nic`. */
export function ownerText(o: NicOwner): string {
  return `${o.namespace}/${o.instance}/${o.nic}`;
}

/** parseOwner is the inverse of ownerText; undefined for a value it did not write. */
export function parseOwner(text: string): NicOwner | undefined {
  const m = /^([^/]+)\/([^/]+)\/(\d+)$/.exec(text);
  return m ? { namespace: m[1] ?? '', instance: m[2] ?? '', nic: Number(m[3]) } : undefined;
}

/** describeOwner is the human form used in errors: `default/web nic 0`. */
export function describeOwner(o: NicOwner): string {
  return `${o.namespace}/${o.instance} nic ${o.nic}`;
}

/** ipamKey is the key of one address of a network. */
export function ipamKey(network: string, address: string): string {
  return `${IPAM_PREFIX}${network}/${address}`;
}

function sameOwner(a: NicOwner, b: NicOwner): boolean {
  return a.namespace === b.namespace && a.instance === b.instance && a.nic === b.nic;
}

/** IpamOptions: the raw key space; `maxPasses` bounds re-reads of a crowded network (default 4). */
export interface IpamOptions {
  raw: RawKV;
  maxPasses?: number;
}

/**
 * Ipam allocates and releases addresses. Every verb is idempotent per owner:
 * allocating again for a NIC that holds an address returns that address;
 * releasing an owner that holds nothing succeeds. Callers serialize calls
 * for one owner (the runner never reconciles one instance twice at once);
 * calls for different owners may race freely, on one member or many.
 */
export class Ipam {
  private readonly raw: RawKV;
  private readonly maxPasses: number;
  constructor(opts: IpamOptions) {
    this.raw = opts.raw;
    this.maxPasses = opts.maxPasses ?? 4;
  }

  /** list returns a network's allocations, lowest address first. */
  async list(network: string): Promise<Allocation[]> {
    const { entries } = await this.raw.list(`${IPAM_PREFIX}${network}/`);
    const out: Allocation[] = [];
    for (const e of entries) {
      const owner = parseOwner(e.value);
      const address = e.key.slice(e.key.lastIndexOf('/') + 1);
      if (owner) out.push({ network, address, owner });
    }
    return out.sort((a, b) => parseIp(a.address) - parseIp(b.address));
  }

  /** listAll returns every allocation of every network. */
  async listAll(): Promise<Allocation[]> {
    const { entries } = await this.raw.list(IPAM_PREFIX);
    const out: Allocation[] = [];
    for (const e of entries) {
      const rest = e.key.slice(IPAM_PREFIX.length);
      const slash = rest.lastIndexOf('/');
      const owner = parseOwner(e.value);
      if (owner && slash > 0) out.push({ network: rest.slice(0, slash), address: rest.slice(slash + 1), owner });
    }
    return out;
  }

  /**
   * allocate gives the NIC an address and returns it. With `address`, that
   * address or an error: ValidationError when it is outside the subnet, the
   * gateway, or the network or broadcast address; ConflictError when another
   * NIC holds it. Without, the lowest free host address; ConflictError when
   * the network is full. A NIC that moves to a new fixed address keeps its
   * old one until the new one is claimed.
   */
  async allocate(req: AllocateRequest): Promise<string> {
    const existing = (await this.list(req.network)).filter((a) => sameOwner(a.owner, req.owner));
    if (req.address !== undefined) return this.allocateFixed(req, existing);
    const held = existing[0];
    if (held) return held.address;
    for (let pass = 0; pass < this.maxPasses; pass++) {
      const taken = new Set((await this.list(req.network)).map((a) => a.address));
      let free = 0;
      for (const ip of hostAddresses(req.plan)) {
        const address = formatIp(ip);
        if (taken.has(address)) continue;
        free++;
        if (await this.raw.claim(ipamKey(req.network, address), ownerText(req.owner))) return address;
      }
      // Every free address was claimed by someone else meanwhile: re-read unless nothing was free.
      if (free === 0) break;
    }
    throw new ConflictError(`network "${req.network}" has no free address left in ${req.plan.subnet.cidr}`);
  }

  private async allocateFixed(req: AllocateRequest, existing: Allocation[]): Promise<string> {
    const ip = parseIp(req.address ?? '', 'spec.nics.address');
    const address = formatIp(ip);
    const reason = reservedReason(req.plan, ip);
    if (reason) {
      throw new ValidationError(`address ${address} cannot be used on network "${req.network}": it is ${reason}`, [
        { field: `spec.nics[${req.owner.nic}].address`, message: `is ${reason}`, type: 'FieldValueInvalid' },
      ]);
    }
    if (!existing.some((a) => a.address === address)) {
      if (!(await this.raw.claim(ipamKey(req.network, address), ownerText(req.owner)))) {
        const holder = await this.raw.get(ipamKey(req.network, address));
        const other = holder ? parseOwner(holder.value) : undefined;
        // The holder may have released it between claim and get: the caller's retry will get it.
        throw new ConflictError(
          `address ${address} on network "${req.network}" is taken by ${other ? describeOwner(other) : 'another NIC'}`,
        );
      }
    }
    for (const old of existing) {
      if (old.address !== address) await this.raw.delete(ipamKey(req.network, old.address), { ifValue: ownerText(req.owner) });
    }
    return address;
  }

  /** release frees every address the NIC holds on the network; returns the addresses freed. */
  async release(network: string, owner: NicOwner): Promise<string[]> {
    const freed: string[] = [];
    for (const a of await this.list(network)) {
      if (!sameOwner(a.owner, owner)) continue;
      if (await this.raw.delete(ipamKey(network, a.address), { ifValue: ownerText(owner) })) freed.push(a.address);
    }
    return freed;
  }

  /**
   * releaseInstance frees what an instance holds: every NIC on every network,
   * or, with `keep`, every NIC except those still wanted (`network` + `nic`
   * pairs). Returns the allocations freed.
   */
  async releaseInstance(opts: {
    namespace: string;
    instance: string;
    keep?: Array<{ network: string; nic: number }>;
  }): Promise<Allocation[]> {
    const freed: Allocation[] = [];
    for (const a of await this.listAll()) {
      if (a.owner.namespace !== opts.namespace || a.owner.instance !== opts.instance) continue;
      if (opts.keep?.some((k) => k.network === a.network && k.nic === a.owner.nic)) continue;
      if (await this.raw.delete(ipamKey(a.network, a.address), { ifValue: ownerText(a.owner) })) freed.push(a);
    }
    return freed;
  }
}
