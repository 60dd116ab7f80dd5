/**
 * Pure IPv4 arithmetic: dotted addresses as unsigned 32-bit numbers, CIDR
 * subnets, containment and overlap. Shared by networking (IPAM, drivers)
 * and the instance runtime (the broadcast in an LXC config). No side
 * effects; table-tested.
 */
import { ValidationError } from './errors.js';

/** Subnet is a parsed IPv4 subnet; numbers are unsigned 32-bit. */
export interface Subnet {
  /** cidr is the canonical text, network address first (10.42.0.0/24) */
  cidr: string;
  network: number;
  prefix: number;
  broadcast: number;
  /** size is the number of addresses, reserved ones included */
  size: number;
}

/** parseIp reads a dotted IPv4 address into an unsigned number; ValidationError when malformed. */
export function parseIp(text: string, field = 'address'): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) {
    throw new ValidationError(`${field}: Invalid value: "${text}": must be an IPv4 address such as 10.42.0.10`, [
      { field, message: 'must be an IPv4 address', type: 'FieldValueInvalid' },
    ]);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** formatIp writes an unsigned 32-bit number as a dotted IPv4 address. */
export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/**
 * parseSubnet reads `a.b.c.d/len`. The address is masked to the network
 * address (10.42.0.7/24 reads as 10.42.0.0/24). ValidationError when malformed.
 */
export function parseSubnet(text: string, field = 'spec.subnet'): Subnet {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !(prefix >= 0 && prefix <= 32)) {
    throw new ValidationError(`${field}: Invalid value: "${text}": must be an IPv4 subnet in CIDR form such as 10.42.0.0/24`, [
      { field, message: 'must be an IPv4 subnet in CIDR form', type: 'FieldValueInvalid' },
    ]);
  }
  const ip = parseIp(m[1] ?? '', field);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ip / size) * size;
  return { cidr: `${formatIp(network)}/${prefix}`, network, prefix, broadcast: network + size - 1, size };
}

/** contains says whether the address (number) is inside the subnet. */
export function contains(subnet: Subnet, ip: number): boolean {
  return ip >= subnet.network && ip <= subnet.broadcast;
}

/** overlaps says whether two subnets share any address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}
