/**
 * The explicit network driver registry: one map built at start-up, no
 * import-time registration. Asking for an unknown driver is a clear error.
 */
import { NotSupportedError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { BridgeDriver } from './bridge.js';
import { OvnDriver } from './ovn.js';
import type { NetworkDriver } from './types.js';
import { VxlanDriver } from './vxlan.js';

/** NetworkDriverRegistry maps driver names to drivers. */
export class NetworkDriverRegistry {
  private readonly drivers = new Map<string, NetworkDriver>();

  constructor(drivers: NetworkDriver[]) {
    for (const d of drivers) this.drivers.set(d.info.name, d);
  }

  /** get returns the named driver; NotSupportedError naming the known ones otherwise. */
  get(name: string): NetworkDriver {
    const d = this.drivers.get(name);
    if (!d)
      throw new NotSupportedError(`network driver "${name}" is not available on this member; known drivers: ${this.names().join(', ')}`);
    return d;
  }

  /** has says whether the named driver is registered. */
  has(name: string): boolean {
    return this.drivers.has(name);
  }

  /** shutdown stops the member-wide daemons of every driver that runs some (ovn), keeping their state for the next start. */
  async shutdown(): Promise<void> {
    for (const d of this.drivers.values()) await d.shutdown?.({ keepState: true });
  }

  /** names lists the registered drivers, sorted. */
  names(): string[] {
    return [...this.drivers.keys()].sort();
  }
}

/**
 * defaultNetworkDrivers builds the registry of the drivers this build ships:
 * bridge and vxlan always, ovn when the member's name and data dir are given
 * (its daemons keep their state under `<dataDir>/ovs` and `<dataDir>/ovn`).
 */
export function defaultNetworkDrivers(opts: { host?: HostRunner; memberName?: string; dataDir?: string } = {}): NetworkDriverRegistry {
  const drivers: NetworkDriver[] = [new BridgeDriver(opts), new VxlanDriver(opts)];
  if (opts.memberName !== undefined && opts.dataDir !== undefined)
    drivers.push(new OvnDriver({ memberName: opts.memberName, dataDir: opts.dataDir, host: opts.host }));
  return new NetworkDriverRegistry(drivers);
}
