/**
 * Pure pieces of the bridge and vxlan drivers: the nftables ruleset, the DNS
 * server's argv and hosts file, and the forwarding-entry diff. Side effects
 * live in bridge.ts and vxlan.ts.
 */
import { join } from 'node:path';
import { BRIDGE_PREFIX } from '../naming.js';
import type { HostEntry, NetworkPlan } from './types.js';

/**
 * nftRuleset is the `nft -f` text that replaces the network's own table
 * atomically (declare, delete, re-create in one transaction): forwarding
 * between this bridge and any other Cloudlet bridge is dropped (isolation),
 * and with NAT, traffic from the subnet to elsewhere is masqueraded.
 */
export function nftRuleset(plan: NetworkPlan): string {
  const t = plan.names.nftTable;
  const br = plan.names.bridge;
  const lines = [
    `table ip ${t} {}`,
    `delete table ip ${t}`,
    `table ip ${t} {`,
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    // Bridged frames pass this hook too when br_netfilter is loaded: traffic within the bridge stays allowed.
    `    iifname "${br}" oifname != "${br}" oifname "${BRIDGE_PREFIX}*" drop`,
    `    oifname "${br}" iifname != "${br}" iifname "${BRIDGE_PREFIX}*" drop`,
    '  }',
  ];
  if (plan.nat) {
    lines.push(
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    ip saddr ${plan.subnet} ip daddr != ${plan.subnet} masquerade`,
      '  }',
    );
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** dnsFiles are the paths of the DNS server's files in the network's state dir. */
export function dnsFiles(stateDir: string): { hosts: string; pid: string } {
  return { hosts: join(stateDir, 'hosts'), pid: join(stateDir, 'dnsmasq.pid') };
}

/**
 * dnsmasqArgv starts a DNS-only dnsmasq (no DHCP) bound to the gateway
 * address alone, answering from the hosts file and forwarding other names
 * to the member's resolvers. It forks into the background and writes its pid.
 */
export function dnsmasqArgv(plan: NetworkPlan): string[] {
  const f = dnsFiles(plan.names.stateDir);
  return [
    'dnsmasq',
    '--conf-file=/dev/null',
    `--pid-file=${f.pid}`,
    `--addn-hosts=${f.hosts}`,
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${plan.gateway}`,
    '--domain-needed',
    '--user=root',
    '--group=root',
    '--cache-size=0',
  ];
}

/** hostsFile renders the hosts file: one line per address, sorted, so equal input gives equal bytes. */
export function hostsFile(entries: HostEntry[]): string {
  const sorted = [...entries].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
  return sorted.map((e) => `${e.address} ${e.names.join(' ')}\n`).join('');
}

/** FdbDiff is which default forwarding entries (one per peer) to add and remove. */
export interface FdbDiff {
  add: string[];
  remove: string[];
}

/** fdbDiff compares the peers the device floods to with the peers wanted. */
export function fdbDiff(current: string[], wanted: string[]): FdbDiff {
  const have = new Set(current);
  const want = new Set(wanted);
  return { add: [...want].filter((p) => !have.has(p)).sort(), remove: [...have].filter((p) => !want.has(p)).sort() };
}
