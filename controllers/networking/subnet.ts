/**
 * A network's addresses: the reserved addresses of a subnet (network,
 * broadcast, gateway) and which addresses IPAM hands out. The IPv4
 * arithmetic itself (parsing, containment, overlap) is lib/ipv4.ts, shared
 * with the instance runtime. No side effects; table-tested.
 */
import { ValidationError } from '../../lib/errors.js';
import { contains, formatIp, parseIp, parseSubnet, type Subnet } from '../../lib/ipv4.js';

/** MAX_PREFIX_LENGTH is the longest prefix Cloudlet accepts (/29: five instance addresses). */
export const MAX_PREFIX_LENGTH = 29;

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
