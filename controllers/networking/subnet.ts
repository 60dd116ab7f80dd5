/**
 * Pure IPv4 arithmetic for networks: parsing CIDR subnets, the reserved
 * addresses of a subnet (network, broadcast, gateway), containment and
 * overlap. No side effects; table-tested.
 */
import { ValidationError } from '../../lib/errors.js';

/** MAX_PREFIX_LENGTH is the longest prefix Cloudlet accepts (/29: five instance addresses). */
export const MAX_PREFIX_LENGTH = 29;

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

/** defaultGateway is the first address after the network address. */
export function defaultGateway(subnet: Subnet): number {
  return subnet.network + 1;
}

/** AddressPlan is a subnet with its gateway: what IPAM hands out from. */
export interface AddressPlan {
  subnet: Subnet;
  gateway: number;
}

/**
 * addressPlan validates a network's subnet and gateway: the subnet must be
 * /29 or larger (a /30 leaves one instance address), the gateway inside it
 * and neither its network nor its broadcast address. ValidationError names
 * the field and the reason.
 */
export function addressPlan(spec: { subnet: string; gateway?: string }): AddressPlan {
  const subnet = parseSubnet(spec.subnet);
  if (subnet.prefix > MAX_PREFIX_LENGTH) {
    throw new ValidationError(
      `spec.subnet: Invalid value: "${spec.subnet}": too small; use /${MAX_PREFIX_LENGTH} or larger (a /${subnet.prefix} leaves ${Math.max(0, subnet.size - 3)} instance addresses)`,
      [{ field: 'spec.subnet', message: 'subnet too small', type: 'FieldValueInvalid' }],
    );
  }
  const gateway = spec.gateway ? parseIp(spec.gateway, 'spec.gateway') : defaultGateway(subnet);
  const bad = !contains(subnet, gateway)
    ? `outside the subnet ${subnet.cidr}`
    : gateway === subnet.network
      ? 'the network address of the subnet'
      : gateway === subnet.broadcast
        ? 'the broadcast address of the subnet'
        : undefined;
  if (bad) {
    throw new ValidationError(`spec.gateway: Invalid value: "${formatIp(gateway)}": is ${bad}`, [
      { field: 'spec.gateway', message: `is ${bad}`, type: 'FieldValueInvalid' },
    ]);
  }
  return { subnet, gateway };
}

/** reservedReason says why an address cannot be given to an instance, or undefined when it can. */
export function reservedReason(plan: AddressPlan, ip: number): string | undefined {
  if (!contains(plan.subnet, ip)) return `outside the subnet ${plan.subnet.cidr}`;
  if (ip === plan.subnet.network) return `the network address of ${plan.subnet.cidr}`;
  if (ip === plan.subnet.broadcast) return `the broadcast address of ${plan.subnet.cidr}`;
  if (ip === plan.gateway) return `the gateway of ${plan.subnet.cidr}`;
  return undefined;
}

/** hostAddresses lists the addresses IPAM may hand out, lowest first. */
export function* hostAddresses(plan: AddressPlan): Generator<number> {
  for (let ip = plan.subnet.network + 1; ip < plan.subnet.broadcast; ip++) {
    if (ip !== plan.gateway) yield ip;
  }
}
