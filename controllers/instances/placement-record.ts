/**
 * Placement records: a small JSON file per container under
 * `<dataDir>/placements/<container>.json` saying which instance it is and at
 * which placement epoch it was made. The agent uses the epoch to tell a stale
 * copy (made for an older placement) from the current one; tools that read
 * the host (deploy/lab/lab.sh ps) use it to map a container name, which may
 * be hashed, back to namespace/name.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** PlacementRecord is what a record file holds. */
export interface PlacementRecord {
  namespace: string;
  name: string;
  member: string;
  epoch: number;
}

/** placementRecordPath is the record file of `containerName` under `dataDir`. */
export function placementRecordPath(dataDir: string, containerName: string): string {
  return join(dataDir, 'placements', `${containerName}.json`);
}

/** writePlacementRecord writes the record atomically (temp file and rename). */
export async function writePlacementRecord(dataDir: string, containerName: string, rec: PlacementRecord): Promise<void> {
  const path = placementRecordPath(dataDir, containerName);
  await mkdir(join(dataDir, 'placements'), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(rec) + '\n');
  await rename(tmp, path);
}

/** readPlacementRecord reads the record; undefined when absent or unreadable. */
export async function readPlacementRecord(dataDir: string, containerName: string): Promise<PlacementRecord | undefined> {
  try {
    const v = JSON.parse(await readFile(placementRecordPath(dataDir, containerName), 'utf8')) as Partial<PlacementRecord>;
    if (typeof v.namespace !== 'string' || typeof v.name !== 'string' || typeof v.epoch !== 'number') return undefined;
    return { namespace: v.namespace, name: v.name, member: typeof v.member === 'string' ? v.member : '', epoch: v.epoch };
  } catch {
    return undefined;
  }
}

/** removePlacementRecord deletes the record; absent is success. */
export async function removePlacementRecord(dataDir: string, containerName: string): Promise<void> {
  await rm(placementRecordPath(dataDir, containerName), { force: true });
}

/** PlacementRecords stores records per container: files for real runtimes, memory for simulated ones. */
export interface PlacementRecords {
  read(containerName: string): Promise<PlacementRecord | undefined>;
  write(containerName: string, rec: PlacementRecord): Promise<void>;
  remove(containerName: string): Promise<void>;
}

/** filePlacementRecords keeps records under `<dataDir>/placements/`. */
export function filePlacementRecords(dataDir: string): PlacementRecords {
  return {
    read: (c) => readPlacementRecord(dataDir, c),
    write: (c, rec) => writePlacementRecord(dataDir, c, rec),
    remove: (c) => removePlacementRecord(dataDir, c),
  };
}

/** memoryPlacementRecords keeps records in memory (simulated runtimes: nothing on disk outlives them either). */
export function memoryPlacementRecords(): PlacementRecords {
  const m = new Map<string, PlacementRecord>();
  return {
    read: async (c) => m.get(c),
    write: async (c, rec) => void m.set(c, rec),
    remove: async (c) => void m.delete(c),
  };
}
