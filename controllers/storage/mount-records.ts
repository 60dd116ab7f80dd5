/**
 * Mount records: which shared-pool volumes each local container has mounted,
 * one small JSON file per container under `<dataDir>/volume-mounts/`. The
 * VolumeMounter writes a container's record before it mounts (so a mount cut
 * short is still released) and reads all records when the container goes:
 * a volume is unmounted only when no other local container's record names
 * it. Files, not memory, so a daemon restart still knows what to release.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isJsonMap } from '../../lib/json.js';

/** MountedVolume is one volume a container uses: its pool and its name inside the pool. */
export interface MountedVolume {
  pool: string;
  volume: string;
}

/** MountRecords stores the records; `all` maps every container with a record to its volumes. */
export interface MountRecords {
  read(containerName: string): Promise<MountedVolume[]>;
  write(containerName: string, volumes: MountedVolume[]): Promise<void>;
  remove(containerName: string): Promise<void>;
  all(): Promise<Map<string, MountedVolume[]>>;
}

/** sameVolume tells whether two entries name the same volume. */
export function sameVolume(a: MountedVolume, b: MountedVolume): boolean {
  return a.pool === b.pool && a.volume === b.volume;
}

/** mergeVolumes is `have` plus the entries of `add` it lacks, in order (a record never forgets a mounted volume). */
export function mergeVolumes(have: readonly MountedVolume[], add: readonly MountedVolume[]): MountedVolume[] {
  const out = [...have];
  for (const v of add) if (!out.some((o) => sameVolume(o, v))) out.push(v);
  return out;
}

/** volumesToRelease is what `containerName` may unmount as it goes: its volumes that no other container's record names. */
export function volumesToRelease(containerName: string, all: ReadonlyMap<string, readonly MountedVolume[]>): MountedVolume[] {
  const mine = all.get(containerName) ?? [];
  return mine.filter((v) => ![...all].some(([other, vols]) => other !== containerName && vols.some((o) => sameVolume(o, v))));
}

function parse(text: string): MountedVolume[] {
  const data: unknown = JSON.parse(text);
  const list: unknown[] = isJsonMap(data) && Array.isArray(data.volumes) ? data.volumes : [];
  const out: MountedVolume[] = [];
  for (const v of list) {
    if (typeof v !== 'object' || v === null) continue;
    const { pool, volume } = v as { pool?: unknown; volume?: unknown };
    if (typeof pool === 'string' && typeof volume === 'string') out.push({ pool, volume });
  }
  return out;
}

/** fileMountRecords keeps records under `<dataDir>/volume-mounts/<container>.json` (written atomically). */
export function fileMountRecords(dataDir: string): MountRecords {
  const dir = join(dataDir, 'volume-mounts');
  const path = (c: string): string => join(dir, `${c}.json`);
  const read = async (c: string): Promise<MountedVolume[]> => {
    try {
      return parse(await readFile(path(c), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  return {
    read,
    async write(c, volumes) {
      if (volumes.length === 0) return rm(path(c), { force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(`${path(c)}.tmp`, JSON.stringify({ volumes }) + '\n');
      await rename(`${path(c)}.tmp`, path(c));
    },
    remove: (c) => rm(path(c), { force: true }),
    async all() {
      let names: string[];
      try {
        names = (await readdir(dir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
        throw err;
      }
      return new Map(await Promise.all(names.map(async (n) => [n, await read(n)] as const)));
    },
  };
}

/** memoryMountRecords keeps records in memory (unit tests). */
export function memoryMountRecords(): MountRecords {
  const m = new Map<string, MountedVolume[]>();
  return {
    read: async (c) => [...(m.get(c) ?? [])],
    write: async (c, volumes) => void (volumes.length === 0 ? m.delete(c) : m.set(c, [...volumes])),
    remove: async (c) => void m.delete(c),
    all: async () => new Map([...m].map(([k, v]) => [k, [...v]])),
  };
}
