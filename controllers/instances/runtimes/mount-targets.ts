/**
 * Mount targets of a container, resolved inside its root filesystem before
 * LXC sees them (lib/host/in-root.ts): each volume's path is followed
 * component by component without leaving the rootfs, missing directories are
 * made there, and LXC gets the symlink-free path. A target that climbs out,
 * or lands on `/`, /proc, /sys or /dev, is a ValidationError naming the
 * volume's path, so the instance shows why it cannot start.
 */
import { ValidationError } from '../../../lib/errors.js';
import { resolveInRoot } from '../../../lib/host/in-root.js';
import { containerPathProblem } from '../../../lib/kinds/path-rules.js';
import type { MountSpec } from './types.js';

/** resolveMountTargets returns `mounts` with every `path` replaced by its symlink-free path inside `rootfs`, creating missing directories. */
export async function resolveMountTargets(rootfs: string, mounts: readonly MountSpec[]): Promise<MountSpec[]> {
  const out: MountSpec[] = [];
  for (const m of mounts) {
    try {
      const { containerPath } = await resolveInRoot(rootfs, m.path, { create: true, mountTarget: true });
      out.push({ ...m, path: containerPath });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new ValidationError(
        `volume mount path ${m.path} is refused: ${err.message}`,
        [{ field: 'spec.volumes[].path', message: err.message }],
        { cause: err },
      );
    }
  }
  return out;
}

/** checkMountPaths checks every mount path by the rules alone, without looking at the rootfs; ValidationError naming the first bad one. */
export function checkMountPaths(mounts: readonly MountSpec[]): MountSpec[] {
  for (const m of mounts) {
    const problem = containerPathProblem(m.path);
    if (problem)
      throw new ValidationError(`volume mount path ${JSON.stringify(m.path)} is refused: it ${problem}`, [
        { field: 'spec.volumes[].path', message: problem },
      ]);
  }
  return [...mounts];
}
