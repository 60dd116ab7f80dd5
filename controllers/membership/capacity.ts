/**
 * What this machine offers to instances: CPU cores, memory and the disk of
 * the data directory.
 */
import { cpus, totalmem } from 'node:os';
import { statfs } from 'node:fs/promises';
import { formatBytes } from '../../lib/kinds/quantity.js';
import type { Resources } from '../../lib/kinds/types.js';

/** HostFacts are raw numbers read from the host. */
export interface HostFacts {
  cpus: number;
  memoryBytes: number;
  diskBytes: number;
  diskFreeBytes: number;
}

/** readHostFacts reads CPU count, total memory and the size of the filesystem holding `dataDir`. */
export async function readHostFacts(dataDir: string): Promise<HostFacts> {
  const fs = await statfs(dataDir);
  return {
    cpus: cpus().length,
    memoryBytes: totalmem(),
    diskBytes: Number(fs.blocks) * Number(fs.bsize),
    diskFreeBytes: Number(fs.bavail) * Number(fs.bsize),
  };
}

/** capacityFromFacts renders host facts as a Member status capacity (quantities). */
export function capacityFromFacts(f: HostFacts): Resources {
  return { cpu: f.cpus, memory: formatBytes(f.memoryBytes), disk: formatBytes(f.diskBytes) };
}
