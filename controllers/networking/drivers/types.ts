/**
 * The network driver contract: what the per-member network agent asks of a
 * driver. The agent passes a plain plan in (names, addresses, peers, hosts)
 * and gets plain observations back; drivers never touch the store. Every verb
 * is idempotent: `ensure` converges whatever exists toward the plan, `remove`
 * of an absent network succeeds, `observe` changes nothing.
 */

/** NetworkDriverInfo is a driver's capability object; callers branch on these flags, never on `name`. */
export interface NetworkDriverInfo {
  name: string;
  /** spansMembers: one L2 segment across members; the plan must carry the underlay peers */
  spansMembers: boolean;
  /** nat: outbound masquerade through the member's address is supported */
  nat: boolean;
  /** dns: instance names resolve through a server on the gateway address */
  dns: boolean;
  /** mtuOverhead: bytes the overlay takes from the underlay MTU (instance MTU = underlay − this) */
  mtuOverhead: number;
  /** attachment: how an instance NIC joins; `linux-bridge` = a veth whose host end is a bridge port, `ovs-port` = a veth whose host end is an Open vSwitch port with an iface-id */
  attachment: 'linux-bridge' | 'ovs-port';
  /** central: the driver needs a central member (plan.central) and the network's logical ports (plan.ports) */
  central?: boolean;
}

/** LogicalPortPlan is one NIC of the network, cluster-wide: its logical port name (the OVS iface-id), MAC and address. */
export interface LogicalPortPlan {
  name: string;
  mac: string;
  address: string;
}

/** CentralPlan names the member running the cluster's central network databases. */
export interface CentralPlan {
  member: string;
  address: string;
  /** local: this member is the central one */
  local: boolean;
}

/** HostEntry is one name the network's DNS answers. */
export interface HostEntry {
  address: string;
  names: string[];
}

/** PlumbingNames are the per-member kernel names of one network's plumbing (≤ 15 chars each). */
export interface PlumbingNames {
  bridge: string;
  overlay: string;
  nftTable: string;
  /** stateDir holds the DNS server's hosts file and pid file */
  stateDir: string;
}

/** NetworkPlan is everything a driver needs to build one network on this member. */
export interface NetworkPlan {
  network: string;
  names: PlumbingNames;
  /** subnet in canonical CIDR form */
  subnet: string;
  gateway: string;
  prefix: number;
  /** gatewayMac is the same on every member, so the gateway answers locally wherever an instance runs */
  gatewayMac: string;
  nat: boolean;
  dns: boolean;
  /** mtu of the instance interfaces */
  mtu: number;
  vni: number;
  /** underlay: this member's address and every other Ready member's, for drivers that span members */
  underlay?: { local: string; peers: string[] };
  hosts: HostEntry[];
  /** central is set for drivers with `info.central`: where the central databases run */
  central?: CentralPlan;
  /** ports are set for drivers with `info.central`: every NIC on the network, on any member */
  ports?: LogicalPortPlan[];
}

/** NetworkObservation: whether the plumbing exists, and what differs from the plan when it does. */
export interface NetworkObservation {
  exists: boolean;
  ready: boolean;
  problems: string[];
}

/** NicRef identifies one instance NIC cluster-wide. */
export interface NicRef {
  namespace: string;
  instance: string;
  nic: number;
}

/** NicAttachment tells the runtime how to plug a NIC into the network on this member. */
export interface NicAttachment {
  /** link is the bridge the veth's host end joins */
  link: string;
  mtu: number;
  /** ovs is set for `ovs-port` drivers: the host end joins this Open vSwitch bridge (database `db`) with this iface-id through the LXC net hook `hook` (see ovn/port-hook.ts); then `link` is empty */
  ovs?: { bridge: string; db: string; ifaceId: string; hook: string };
}

/**
 * NetworkDriver builds and removes one network's plumbing on one member.
 * Unsupported verbs throw NotSupportedError (see `info`). `remove` leaves
 * nothing behind: no link, bridge, nft table, DNS server or state file.
 */
export interface NetworkDriver {
  readonly info: NetworkDriverInfo;
  ensure(plan: NetworkPlan): Promise<void>;
  remove(names: PlumbingNames): Promise<void>;
  observe(plan: NetworkPlan): Promise<NetworkObservation>;
  /** attachment says how `nic` joins the network here (`ovs-port` drivers need `nic` to name its logical port) */
  attachment(plan: NetworkPlan, nic?: NicRef): NicAttachment;
  /** shutdown (optional) stops member-wide daemons the driver runs when the agent stops; `keepState` keeps what a restart needs */
  shutdown?(opts?: { keepState?: boolean }): Promise<void>;
}
