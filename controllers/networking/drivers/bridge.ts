/**
 * BridgeDriver: a Linux bridge per network on each member, holding the
 * gateway address (with a MAC shared by every member), an nftables table of
 * our own for isolation and NAT, and a dnsmasq answering instance names.
 * Instances on one member share the bridge; other drivers extend it.
 */
import { hostRunner, type HostRunner } from '../../../lib/host/exec.js';
import { isCode } from '../../../lib/errors.js';
import { which } from '../../../lib/host/which.js';
import { DnsServer } from './dns-server.js';
import { nftRuleset } from './bridge-plan.js';
import type { NetworkDriver, NetworkDriverInfo, NetworkObservation, NetworkPlan, NicAttachment, PlumbingNames } from './types.js';

/** LinkInfo is what `ip -j -d link show` reports that the drivers read. */
export interface LinkInfo {
  ifname: string;
  address?: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

/** BridgeDriverOptions: the process seam (tests run the driver inside a namespace through it). */
export interface BridgeDriverOptions {
  host?: HostRunner;
}

/** BridgeDriver implements NetworkDriver for single-member networks; see the file comment. */
export class BridgeDriver implements NetworkDriver {
  readonly info: NetworkDriverInfo = {
    name: 'bridge',
    spansMembers: false,
    nat: true,
    dns: true,
    mtuOverhead: 0,
    attachment: 'linux-bridge',
  };
  protected readonly host: HostRunner;
  protected readonly dns: DnsServer;

  constructor(opts: BridgeDriverOptions = {}) {
    this.host = opts.host ?? hostRunner;
    this.dns = new DnsServer(this.host);
  }

  /** link reads one interface, or undefined when it does not exist. */
  protected async link(name: string): Promise<LinkInfo | undefined> {
    const r = await this.host.run(['ip', '-j', '-d', 'link', 'show', 'dev', name], { okExitCodes: [0, 1] });
    if (r.exitCode !== 0) return undefined;
    const parsed = JSON.parse(r.stdout) as LinkInfo[];
    return parsed[0];
  }

  /** addresses lists the IPv4 addresses (CIDR) on an interface. */
  protected async addresses(name: string): Promise<string[]> {
    const r = await this.host.run(['ip', '-j', '-4', 'addr', 'show', 'dev', name]);
    const parsed = JSON.parse(r.stdout) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
    return (parsed[0]?.addr_info ?? []).map((a) => `${a.local ?? ''}/${a.prefixlen ?? ''}`);
  }

  async ensure(plan: NetworkPlan): Promise<void> {
    // Missing tools fail here with the Debian package to install, before anything is built.
    for (const tool of ['ip', 'nft', ...(plan.dns ? ['dnsmasq'] : []), ...(plan.underlay ? ['bridge'] : [])]) await which(tool);
    const br = plan.names.bridge;
    if (!(await this.link(br))) {
      try {
        await this.host.run(['ip', 'link', 'add', 'name', br, 'type', 'bridge']);
      } catch (err) {
        // A concurrent ensure made it first; the checks below converge it either way.
        if (!(isCode(err, 'HostCommand') && (await this.link(br)))) throw err;
      }
    }
    await this.host.run(['ip', 'link', 'set', 'dev', br, 'address', plan.gatewayMac, 'mtu', String(plan.mtu), 'up']);
    const want = `${plan.gateway}/${plan.prefix}`;
    for (const a of await this.addresses(br)) {
      if (a !== want) await this.host.run(['ip', 'addr', 'del', a, 'dev', br]);
    }
    await this.host.run(['ip', 'addr', 'replace', want, 'dev', br]);
    await this.ensureOverlay(plan);
    if (plan.nat) await this.host.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await this.host.run(['nft', '-f', '-'], { stdin: nftRuleset(plan) });
    if (plan.dns) await this.dns.ensure(plan);
    else await this.dns.stop(plan.names.stateDir);
  }

  /** ensureOverlay joins the network to other members; the plain bridge has nothing to do. */
  protected async ensureOverlay(_plan: NetworkPlan): Promise<void> {}

  async remove(names: PlumbingNames): Promise<void> {
    await this.dns.stop(names.stateDir);
    const table = await this.host.run(['nft', 'list', 'table', 'ip', names.nftTable], { okExitCodes: [0, 1] });
    if (table.exitCode === 0) await this.host.run(['nft', 'delete', 'table', 'ip', names.nftTable]);
    for (const dev of [names.overlay, names.bridge]) {
      if (await this.link(dev)) await this.host.run(['ip', 'link', 'del', 'dev', dev]);
    }
  }

  async observe(plan: NetworkPlan): Promise<NetworkObservation> {
    const problems: string[] = [];
    const br = await this.link(plan.names.bridge);
    if (!br) return { exists: false, ready: false, problems: [`bridge ${plan.names.bridge} is missing`] };
    if (!(br.flags ?? []).includes('UP')) problems.push(`bridge ${plan.names.bridge} is down`);
    if (!(await this.addresses(plan.names.bridge)).includes(`${plan.gateway}/${plan.prefix}`)) {
      problems.push(`bridge ${plan.names.bridge} lacks the gateway address ${plan.gateway}/${plan.prefix}`);
    }
    const table = await this.host.run(['nft', 'list', 'table', 'ip', plan.names.nftTable], { okExitCodes: [0, 1] });
    if (table.exitCode !== 0) problems.push(`nft table ${plan.names.nftTable} is missing`);
    else if (plan.nat !== table.stdout.includes('masquerade'))
      problems.push(`nft table ${plan.names.nftTable} does not match nat=${plan.nat}`);
    if (plan.dns && (await this.dns.pid(plan.names.stateDir)) === undefined) problems.push('the DNS server is not running');
    problems.push(...(await this.observeOverlay(plan)));
    return { exists: true, ready: problems.length === 0, problems };
  }

  /** observeOverlay reports what differs in the overlay; the plain bridge has none. */
  protected async observeOverlay(_plan: NetworkPlan): Promise<string[]> {
    return [];
  }

  attachment(plan: NetworkPlan): NicAttachment {
    return { link: plan.names.bridge, mtu: plan.mtu };
  }
}
