/**
 * The LXC network hook that plugs an instance NIC into Open vSwitch. LXC's
 * own `lxc.net.N.link = <ovs bridge>` support calls `ovs-vsctl` against the
 * default database, which is not the member's (`<dataDir>/ovs/db.sock`), so a
 * NIC on an `ovs-port` network is a veth with no link, a fixed host name
 * (`lxc.net.N.veth.pair`), and `script.up`/`script.down` running this script.
 *
 * LXC runs a net hook as `sh -c "exec <script value> <container> net up|down
 * veth <host veth>"` (lxc.hook.version 0), so the arguments written into the
 * config come first and LXC's trailing ones are ignored:
 *
 *   ovs-port.sh up      <db> <bridge> <veth> <iface-id> <network>   (lxc.net.N.script.up)
 *   ovs-port.sh down    <db> <bridge> <veth>                        (lxc.net.N.script.down)
 *   ovs-port.sh offload <nic>                                       (lxc.hook.start-host)
 *
 * `up` adds the port with `external_ids:iface-id` (ovn-controller binds the
 * logical port) and `external_ids:cloudlet-network` (the driver's teardown
 * finds it); `down` removes the port and never fails the stop; `offload`
 * turns TX checksum offload off on the container's NIC (see
 * PORT_HOOK_SCRIPT).
 */
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../../../lib/host/fs.js';
import { NETWORK_TAG } from './northbound.js';

/** PORT_HOOK_FILE is the hook's file name inside the member's OVS state dir. */
export const PORT_HOOK_FILE = 'ovs-port.sh';

/** portHookPath is where a member's hook lives: `<ovsDir>/ovs-port.sh` (it goes with the OVS state). */
export function portHookPath(ovsDir: string): string {
  return join(ovsDir, PORT_HOOK_FILE);
}

/**
 * PORT_HOOK_SCRIPT is the hook's text. Why `offload`: OVS's userspace
 * datapath reads the host veth through AF_PACKET and forwards frames with
 * the partial TCP/UDP checksums the container's stack left for offload, so
 * the far end drops them — ping works, TCP does not (verified with two LXC
 * containers). The container end is already in the container's namespace
 * when `script.up` runs, so this is done from `lxc.hook.start-host`, which
 * LXC runs in the host's namespaces with LXC_PID set; it needs ethtool
 * (`apt-get install ethtool`) and is skipped without it.
 */
export const PORT_HOOK_SCRIPT = `#!/bin/sh
# Written by Cloudlet: plugs an LXC veth into Open vSwitch (see controllers/networking/ovn/port-hook.ts).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
action="$1" db="$2" bridge="$3" veth="$4"
case "$action" in
up)
  iface="$5" network="$6"
  exec ovs-vsctl --db="$db" --timeout=10 -- --may-exist add-port "$bridge" "$veth" \\
    -- set interface "$veth" "external_ids:iface-id=$iface" "external_ids:${NETWORK_TAG}=$network" 2>&1
  ;;
offload)
  # lxc.hook.start-host: the container's network namespace exists (LXC_PID); $2 is the NIC inside it.
  if command -v ethtool >/dev/null 2>&1 && [ -n "$LXC_PID" ]; then
    nsenter --net="/proc/$LXC_PID/ns/net" ethtool -K "$2" tx off >/dev/null 2>&1 || echo "cloudlet: could not turn TX checksum offload off on $2" >&2
  fi
  exit 0
  ;;
down)
  ovs-vsctl --db="$db" --timeout=10 -- --if-exists del-port "$bridge" "$veth" 2>&1
  exit 0
  ;;
*)
  echo "usage: $0 up <db> <bridge> <veth> <iface-id> <network> | down <db> <bridge> <veth> | offload <nic>" >&2
  exit 2
  ;;
esac
`;

/** ensurePortHook writes the hook (mode 0755) unless it is already there with this text. */
export async function ensurePortHook(path: string): Promise<void> {
  if ((await readFileIfExists(path)) === PORT_HOOK_SCRIPT) return;
  await writeFileAtomic(path, PORT_HOOK_SCRIPT, { mode: 0o755 });
}

/** OvsPortHook is what a runtime writes into an `ovs-port` NIC's hook lines. */
export interface OvsPortHook {
  /** hook is the script's path */
  hook: string;
  /** db is the `--db=` value of the member's Open_vSwitch database */
  db: string;
  bridge: string;
  ifaceId: string;
  network: string;
}

/** shellWord quotes `word` for sh unless it is made of characters that need none. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** portHookCommands renders the `script.up` and `script.down` values for one host veth (pure; LXC runs them through sh). */
export function portHookCommands(p: OvsPortHook, veth: string): { up: string; down: string } {
  const line = (words: string[]): string => words.map(shellWord).join(' ');
  return {
    up: line([p.hook, 'up', p.db, p.bridge, veth, p.ifaceId, p.network]),
    down: line([p.hook, 'down', p.db, p.bridge, veth]),
  };
}

/** offloadHookCommand renders the `lxc.hook.start-host` value that turns TX checksum offload off on container NIC `nic` (pure). */
export function offloadHookCommand(hook: string, nic: string): string {
  return [hook, 'offload', nic].map(shellWord).join(' ');
}
