/**
 * NicPlumber is what the instance agent asks of networking for one instance
 * on this member: addresses from IPAM for every `spec.nics[]` entry, the
 * NicSpecs the runtime plumbs (a veth into the network's bridge, or for
 * `ovs-port` drivers a veth with a fixed host name that LXC hooks plug into
 * Open vSwitch with the NIC's logical port as iface-id), the
 * container's resolv.conf pointing at the network's DNS, and the release of
 * every address when the instance goes.
 */
import { lstat, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, UnavailableError } from '../../lib/errors.js';
import { resolveInRoot } from '../../lib/host/in-root.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance, Network } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import type { NicSpec } from '../instances/runtimes/types.js';
import type { NetworkDriverRegistry } from './drivers/registry.js';
import type { Ipam } from './ipam.js';
import { nicMac, vethHostName } from './naming.js';
import { offloadHookCommand, portHookCommands } from './ovn/port-hook.js';
import { planNetwork } from './network-plan.js';
import { addressPlan } from './subnet.js';

/** NicPlumberOptions wire the plumber to this member. */
export interface NicPlumberOptions {
  store: Store;
  networkKind: KindInfo;
  ipam: Ipam;
  drivers: NetworkDriverRegistry;
  memberName: string;
  /** stateRoot must equal the network agent's, so both derive the same names */
  stateRoot: string;
}

/** NicPlan is what the instance gets: the NICs to plumb and the DNS servers for resolv.conf. */
export interface NicPlan {
  nics: NicSpec[];
  nameservers: string[];
  search: string[];
}

/** NicPlumber: see the file comment. */
export class NicPlumber {
  constructor(private readonly o: NicPlumberOptions) {}

  /**
   * prepare allocates (or finds) each NIC's address and returns the NIC plan;
   * NICs the spec dropped are released. NotFoundError when a network does not
   * exist, UnavailableError when it is not ready on this member yet; IPAM's
   * ValidationError or ConflictError for a fixed address that cannot be had.
   */
  async prepare(instance: Instance): Promise<NicPlan> {
    const namespace = instance.metadata.namespace ?? 'default';
    const name = instance.metadata.name;
    const wanted = instance.spec?.nics ?? [];
    await this.o.ipam.releaseInstance({ namespace, instance: name, keep: wanted.map((n, i) => ({ network: n.network, nic: i })) });
    const out: NicPlan = { nics: [], nameservers: [], search: [] };
    for (const [i, nic] of wanted.entries()) {
      let net: Network;
      try {
        net = await this.o.store.get<Network>(this.o.networkKind, nic.network);
      } catch (err) {
        throw new NotFoundError(`instance ${namespace}/${name} nic ${i}: network "${nic.network}" does not exist`, { cause: err });
      }
      const mine = net.status?.members?.find((m) => m.name === this.o.memberName);
      if (!net.spec || net.metadata.deletionTimestamp || !mine?.ready) {
        throw new UnavailableError(
          `instance ${namespace}/${name} nic ${i}: network "${nic.network}" is not ready on member ${this.o.memberName} yet`,
        );
      }
      const driver = this.o.drivers.get(net.spec.driver);
      const address = await this.o.ipam.allocate({
        network: nic.network,
        plan: addressPlan(net.spec),
        owner: { namespace, instance: name, nic: i },
        address: nic.address,
      });
      const plan = planNetwork({
        network: net,
        driver: driver.info,
        scope: this.o.memberName,
        stateRoot: this.o.stateRoot,
        peers: [],
        hosts: [],
      });
      const ref = { namespace, instance: name, nic: i };
      const attach = driver.attachment(plan, ref);
      const hostInterface = attach.ovs ? vethHostName({ scope: this.o.memberName, ...ref }) : undefined;
      out.nics.push({
        name: `eth${i}`,
        network: nic.network,
        ...(attach.link ? { link: attach.link } : {}),
        ...(attach.ovs && hostInterface
          ? {
              hostInterface,
              hooks: {
                ...portHookCommands({ ...attach.ovs, network: nic.network }, hostInterface),
                startHost: offloadHookCommand(attach.ovs.hook, `eth${i}`),
              },
            }
          : {}),
        mtu: attach.mtu,
        mac: nicMac({ namespace, instance: name, nic: i }),
        address: `${address}/${plan.prefix}`,
        gateway: plan.gateway,
      });
      if (plan.dns && !out.nameservers.includes(plan.gateway)) out.nameservers.push(plan.gateway);
    }
    if (out.nics.length > 0) out.search.push(namespace);
    return out;
  }

  /** nicsFor prepares the NICs and writes the container's resolv.conf into `rootfsPath`; the runtime plumbs the NICs returned. */
  async nicsFor(instance: Instance, rootfsPath: string): Promise<NicSpec[]> {
    const plan = await this.prepare(instance);
    await writeResolvConf(rootfsPath, plan);
    return plan.nics;
  }

  /** release frees every address the instance holds, on every network. */
  async release(instance: { metadata: { name: string; namespace?: string } }): Promise<void> {
    await this.o.ipam.releaseInstance({ namespace: instance.metadata.namespace ?? 'default', instance: instance.metadata.name });
  }
}

/**
 * writeResolvConf points the container at its networks' DNS servers by
 * writing `<rootfs>/etc/resolv.conf` (a symlink there is replaced, never
 * followed; /etc is resolved inside the rootfs). Nothing is written when there is no DNS server.
 */
export async function writeResolvConf(rootfsPath: string, plan: NicPlan): Promise<void> {
  if (plan.nameservers.length === 0) return;
  // /etc is resolved inside the rootfs: the instance may have made it a symlink to the host's /etc.
  const etc = (await resolveInRoot(rootfsPath, '/etc', { create: true })).hostPath;
  const target = join(etc, 'resolv.conf');
  try {
    if ((await lstat(target)).isSymbolicLink()) await rm(target);
  } catch {
    // Absent: nothing to replace.
  }
  const lines = [...plan.nameservers.map((n) => `nameserver ${n}`), ...(plan.search.length ? [`search ${plan.search.join(' ')}`] : [])];
  await writeFile(target, `# Written by Cloudlet from the instance's networks.\n${lines.join('\n')}\n`, { mode: 0o644 });
}
