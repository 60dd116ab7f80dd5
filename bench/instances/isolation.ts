/**
 * The isolation scenarios of bench/instances (issue 11): unprivileged
 * instances (the default: the shared id map, rootfs mounted idmapped by LXC)
 * against privileged ones (`spec.security.privileged: true`) and against the
 * raw lxc tools with the same id map and rootfs config. Kinds are
 * interleaved one instance at a time (u, p, p, u, …), so a load change on
 * the machine hits both alike. A debian rootfs (debootstrap, cached once
 * outside the data dir and hard-linked in) measures root filesystem
 * preparation: create → Starting (rootfs cloned and container defined)
 * and create → Running.
 */
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { ImageStore } from '../../controllers/instances/images/image-store.js';
import { IDMAP_SIZE, sharedIdmap } from '../../controllers/instances/security/idmap.js';
import { sleepMs } from '../common.js';
import type { BenchApiClient } from './api-client.js';
import type { PhaseTracker } from './phase-tracker.js';
import type { RawLxcPeer, RawTiming } from './raw-lxc.js';
import { names, sequential, type InstanceShape, type Timeline } from './scenarios.js';

/** SHARED_MAP is the daemon's shared default map, which unprivileged instances get. */
export const SHARED_MAP = { hostId: sharedIdmap().hostId, size: IDMAP_SIZE };

/** DEBIAN_IMAGE is the image of the rootfs-preparation scenario. */
export const DEBIAN_IMAGE = 'debian/bookworm';

/** Kind is unprivileged (u) or privileged (p). */
export type Kind = 'u' | 'p';

/** order interleaves the two kinds: u p, p u, u p, … */
function order(i: number): Kind[] {
  return i % 2 === 0 ? ['u', 'p'] : ['p', 'u'];
}

/** rawPair starts n raw containers of each kind, interleaved (one untimed warm-up each first). */
export async function rawPair(
  peer: RawLxcPeer,
  n: number,
  limits: { cpu: number; memoryBytes: number },
): Promise<Record<Kind, RawTiming[]>> {
  const out: Record<Kind, RawTiming[]> = { u: [], p: [] };
  await peer.createAndStart('warmup-u', limits, SHARED_MAP);
  await peer.createAndStart('warmup-p', limits);
  const ns = { u: names('raw-u', n), p: names('raw-p', n) };
  for (let i = 0; i < n; i++) {
    for (const k of order(i)) out[k].push(await peer.createAndStart(ns[k][i] ?? '', limits, k === 'u' ? SHARED_MAP : undefined));
  }
  return out;
}

/** interleaved creates n instances of each kind through the daemon, one at a time, each timed create → Running. */
export async function interleaved(opts: {
  api: BenchApiClient;
  tracker: PhaseTracker;
  prefix: string;
  n: number;
  shape: InstanceShape;
  timeoutMs: number;
  settleMs?: number;
}): Promise<Record<Kind, Timeline[]>> {
  const out: Record<Kind, Timeline[]> = { u: [], p: [] };
  const ns = { u: names(`${opts.prefix}-u`, opts.n), p: names(`${opts.prefix}-p`, opts.n) };
  for (let i = 0; i < opts.n; i++) {
    for (const k of order(i)) {
      const shape = { ...opts.shape, privileged: k === 'p' };
      out[k].push(
        ...(await sequential({ api: opts.api, tracker: opts.tracker, names: [ns[k][i] ?? ''], shape, timeoutMs: opts.timeoutMs })),
      );
      if (opts.settleMs) await sleepMs(opts.settleMs);
    }
  }
  return out;
}

/** allNames lists the instance names interleaved() made for prefix and n. */
export function allNames(prefix: string, n: number): string[] {
  return [...names(`${prefix}-u`, n), ...names(`${prefix}-p`, n)];
}

/** DebianCache is the cached debian image directory (to seed a daemon with) and the size of its rootfs. */
export interface DebianCache {
  imageDir: string;
  bytes: number;
  files: number;
}

/** debianCache builds the debian image into `imagesDir` once (debootstrap, minutes) or finds it; not timed. */
export async function debianCache(imagesDir: string, log: (line: string) => void): Promise<DebianCache> {
  const store = new ImageStore({ imagesDir });
  if (!(await store.cached(DEBIAN_IMAGE))) log(`building ${DEBIAN_IMAGE} into ${imagesDir} with debootstrap (once; minutes)`);
  const info = await store.ensure(DEBIAN_IMAGE);
  const du = spawnSync('du', ['-sb', info.rootfsPath], { encoding: 'utf8' }).stdout;
  const files = spawnSync('sh', ['-c', 'find "$1" | wc -l', 'sh', info.rootfsPath], { encoding: 'utf8' }).stdout;
  return { imageDir: dirname(info.rootfsPath), bytes: Number(du.split(/\s/)[0]), files: Number(files.trim()) };
}
