/**
 * VxlanDriver: the bridge driver plus a VXLAN device per network on each
 * member (UDP 4789, no learning), enslaved to the bridge, with one
 * all-zeros forwarding entry per peer member so broadcast and unknown
 * unicast reach every other member: one L2 segment across the cluster.
 */
import { BridgeDriver, type BridgeDriverOptions } from './bridge.js';
import { fdbDiff } from './bridge-plan.js';
import { ValidationError } from '../../../lib/errors.js';
import type { NetworkDriverInfo, NetworkPlan } from './types.js';

/** VXLAN_PORT is the IANA VXLAN port. */
export const VXLAN_PORT = 4789;
const ZERO_MAC = '00:00:00:00:00:00';

/** VxlanDriver implements NetworkDriver across members; see the file comment. */
export class VxlanDriver extends BridgeDriver {
  override readonly info: NetworkDriverInfo = {
    name: 'vxlan',
    spansMembers: true,
    nat: true,
    dns: true,
    mtuOverhead: 50,
    attachment: 'linux-bridge',
  };

  constructor(opts: BridgeDriverOptions = {}) {
    super(opts);
  }

  /** floodPeers lists the underlay addresses the device floods to (its all-zeros entries). */
  async floodPeers(dev: string): Promise<string[]> {
    const r = await this.host.run(['bridge', '-j', 'fdb', 'show', 'dev', dev]);
    const entries = JSON.parse(r.stdout || '[]') as Array<{ mac?: string; dst?: string }>;
    return entries.filter((e) => e.mac === ZERO_MAC && e.dst).map((e) => e.dst ?? '');
  }

  protected override async ensureOverlay(plan: NetworkPlan): Promise<void> {
    const u = plan.underlay;
    if (!u)
      throw new ValidationError(`network "${plan.network}": the vxlan driver needs this member's underlay address (Member spec.address)`);
    const dev = plan.names.overlay;
    const current = await this.link(dev);
    const data = current?.linkinfo?.info_data ?? {};
    if (current && (data.id !== plan.vni || data.local !== u.local || data.port !== VXLAN_PORT)) {
      // vni, local address and port cannot change in place.
      await this.host.run(['ip', 'link', 'del', 'dev', dev]);
    }
    if (!current || data.id !== plan.vni || data.local !== u.local || data.port !== VXLAN_PORT) {
      await this.host.run([
        'ip',
        'link',
        'add',
        dev,
        'type',
        'vxlan',
        'id',
        String(plan.vni),
        'local',
        u.local,
        'dstport',
        String(VXLAN_PORT),
        'nolearning',
      ]);
    }
    await this.host.run(['ip', 'link', 'set', 'dev', dev, 'mtu', String(plan.mtu), 'master', plan.names.bridge, 'up']);
    const diff = fdbDiff(await this.floodPeers(dev), u.peers);
    for (const p of diff.add) await this.host.run(['bridge', 'fdb', 'append', ZERO_MAC, 'dev', dev, 'dst', p]);
    for (const p of diff.remove) await this.host.run(['bridge', 'fdb', 'del', ZERO_MAC, 'dev', dev, 'dst', p]);
  }

  protected override async observeOverlay(plan: NetworkPlan): Promise<string[]> {
    const dev = plan.names.overlay;
    const link = await this.link(dev);
    if (!link) return [`vxlan device ${dev} is missing`];
    const problems: string[] = [];
    if (link.master !== plan.names.bridge) problems.push(`vxlan device ${dev} is not a port of ${plan.names.bridge}`);
    const diff = fdbDiff(await this.floodPeers(dev), plan.underlay?.peers ?? []);
    if (diff.add.length) problems.push(`vxlan device ${dev} does not reach ${diff.add.join(', ')}`);
    if (diff.remove.length) problems.push(`vxlan device ${dev} still floods to ${diff.remove.join(', ')}`);
    return problems;
  }
}
