/**
 * Pure northbound planning: the names of a network's logical switch and
 * ports, parsing `ovn-nbctl --format=json` output, and the ovn-nbctl
 * commands that turn what exists into what the plan asks for. Every object
 * Cloudlet makes carries `external_ids:cloudlet-network=<network>`, so its
 * own objects are found (and only those are deleted).
 */
import type { LogicalPortPlan } from '../drivers/types.js';

/** NETWORK_TAG is the external_ids key on every NB object Cloudlet makes. */
export const NETWORK_TAG = 'cloudlet-network';

/** logicalSwitchName is the NB name of a network's logical switch: `cl-<network>`. */
export function logicalSwitchName(network: string): string {
  return `cl-${network}`;
}

/** logicalPortName names a NIC's logical switch port (also its OVS iface-id): `cl-<network>-<namespace>-<instance>-<nic>`. */
export function logicalPortName(opts: { network: string; namespace: string; instance: string; nic: number }): string {
  return `cl-${opts.network}-${opts.namespace}-${opts.instance}-${opts.nic}`;
}

/** ExistingPort is a logical switch port as ovn-nbctl reports it. */
export interface ExistingPort {
  name: string;
  addresses: string[];
  portSecurity: string[];
}

/** cellStrings turns one OVSDB JSON cell (a string, or ["set", [...]]) into its strings. */
export function cellStrings(cell: unknown): string[] {
  if (typeof cell === 'string') return [cell];
  if (Array.isArray(cell) && cell[0] === 'set' && Array.isArray(cell[1]))
    return (cell[1] as unknown[]).filter((c): c is string => typeof c === 'string');
  return [];
}

/** parsePorts reads `ovn-nbctl --format=json --columns=name,addresses,port_security find logical_switch_port …`. */
export function parsePorts(json: string): ExistingPort[] {
  if (!json.trim()) return [];
  const parsed = JSON.parse(json) as { data?: unknown[][] };
  return (parsed.data ?? []).map((row) => ({
    name: cellStrings(row[0])[0] ?? '',
    addresses: cellStrings(row[1]),
    portSecurity: cellStrings(row[2]),
  }));
}

/** portAddress is the `addresses`/`port_security` value of a port: "<mac> <ip>". */
export function portAddress(p: LogicalPortPlan): string {
  return `${p.mac} ${p.address}`;
}

/**
 * portCommands returns the ovn-nbctl argv tails (each run after the --db
 * options) that make switch `ls` hold exactly the planned ports: add or fix
 * the planned ones (addresses and port security "<mac> <ip>"), delete our
 * ports the plan no longer has. Empty when nothing differs.
 */
export function portCommands(opts: { network: string; existing: ExistingPort[]; planned: LogicalPortPlan[] }): string[][] {
  const ls = logicalSwitchName(opts.network);
  const out: string[][] = [];
  const have = new Map(opts.existing.map((p) => [p.name, p]));
  for (const p of opts.planned) {
    const want = portAddress(p);
    const cur = have.get(p.name);
    if (cur && cur.addresses.length === 1 && cur.addresses[0] === want && cur.portSecurity.length === 1 && cur.portSecurity[0] === want)
      continue;
    out.push([
      '--may-exist',
      'lsp-add',
      ls,
      p.name,
      '--',
      'lsp-set-addresses',
      p.name,
      want,
      '--',
      'lsp-set-port-security',
      p.name,
      want,
      '--',
      'set',
      'logical_switch_port',
      p.name,
      `external_ids:${NETWORK_TAG}=${opts.network}`,
    ]);
  }
  const planned = new Set(opts.planned.map((p) => p.name));
  for (const p of opts.existing) if (!planned.has(p.name)) out.push(['--if-exists', 'lsp-del', p.name]);
  return out;
}

/** switchCommand creates the network's logical switch if absent and (re)states its subnet and tag. */
export function switchCommand(opts: { network: string; subnet: string }): string[] {
  const ls = logicalSwitchName(opts.network);
  return [
    '--may-exist',
    'ls-add',
    ls,
    '--',
    'set',
    'logical_switch',
    ls,
    `external_ids:cloudlet-subnet=${opts.subnet}`,
    `external_ids:${NETWORK_TAG}=${opts.network}`,
  ];
}
