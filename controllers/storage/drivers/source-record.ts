/**
 * SourceRecord tracks what Cloudlet made inside a pool's `spec.source`, a
 * directory that belongs to the administrator: the layout directories it
 * created (`volumes` when it was absent) and the volume directories it made.
 * Deleting the pool or a volume removes only what is recorded here — never
 * the source, never a file or directory that was there before or that
 * someone else put beside ours. The record is `<source>/.cloudlet-pool-<pool>.json`,
 * written atomically; updates are serialised per record by the driver.
 */
import { lstat, mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../../lib/errors.js';
import { readFileIfExists, removeTree, writeFileAtomic } from '../../../lib/host/fs.js';

/** SourceRecordData is the record's content. */
export interface SourceRecordData {
  pool: string;
  /** dirs are layout directories (relative to the source) Cloudlet created, in creation order */
  dirs: string[];
  /** volumes are the volume directories (names under `volumes/`) Cloudlet made */
  volumes: string[];
}

/** sourceRecordPath is where the record of pool `pool` lives inside `source`. */
export function sourceRecordPath(source: string, pool: string): string {
  return join(source, `.cloudlet-pool-${pool}.json`);
}

/** SourceRecord reads and updates one pool's record; see the file comment. */
export class SourceRecord {
  private tail: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly source: string,
    private readonly pool: string,
  ) {}

  /** read returns the record, empty when none was written. */
  async read(): Promise<SourceRecordData> {
    const text = await readFileIfExists(sourceRecordPath(this.source, this.pool));
    if (text === undefined) return { pool: this.pool, dirs: [], volumes: [] };
    const data = JSON.parse(text) as Partial<SourceRecordData>;
    return { pool: this.pool, dirs: data.dirs ?? [], volumes: data.volumes ?? [] };
  }

  private update(fn: (d: SourceRecordData) => SourceRecordData | undefined): Promise<void> {
    const run = this.tail.then(async () => {
      const next = fn(await this.read());
      if (next) await writeFileAtomic(sourceRecordPath(this.source, this.pool), `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * ensureDir makes `<source>/<rel>` when absent and records that Cloudlet
   * made it; an existing directory is used as it is (and stays the
   * administrator's). A symlink or a non-directory there is a ValidationError.
   */
  async ensureDir(rel: string): Promise<void> {
    const path = join(this.source, rel);
    const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st && !st.isDirectory())
      throw new ValidationError(`${path} in the pool source is not a directory (a symlink or a file is not followed)`);
    if (st) return;
    await mkdir(path, { mode: 0o700 });
    await this.update((d) => (d.dirs.includes(rel) ? undefined : { ...d, dirs: [...d.dirs, rel] }));
  }

  /** addVolume records that Cloudlet made the volume directory `name`. */
  addVolume(name: string): Promise<void> {
    return this.update((d) => (d.volumes.includes(name) ? undefined : { ...d, volumes: [...d.volumes, name].sort() }));
  }

  /** owns tells whether Cloudlet made the volume directory `name`. */
  async owns(name: string): Promise<boolean> {
    return (await this.read()).volumes.includes(name);
  }

  /** removeVolume deletes the volume directory when Cloudlet made it, and forgets it; anything else is left alone. */
  async removeVolume(name: string, volumesDir: string): Promise<void> {
    if (!(await this.owns(name))) return;
    await removeTree(join(volumesDir, name), { root: volumesDir });
    await this.update((d) => ({ ...d, volumes: d.volumes.filter((v) => v !== name) }));
  }

  /**
   * teardown removes every recorded volume, then every recorded layout
   * directory that is empty by then (newest first; one holding someone
   * else's files stays), then the record. The source itself stays.
   */
  async teardown(volumesDir: string): Promise<void> {
    for (const v of (await this.read()).volumes) await this.removeVolume(v, volumesDir);
    for (const rel of [...(await this.read()).dirs].reverse()) {
      await rmdir(join(this.source, rel)).catch((err: NodeJS.ErrnoException) => {
        // Not empty: it holds files Cloudlet did not make. Absent: already gone.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST' && err.code !== 'ENOENT') throw err;
      });
    }
    await removeTree(sourceRecordPath(this.source, this.pool), { root: this.source });
  }
}
