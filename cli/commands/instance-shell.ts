/**
 * `cloudlet exec NAME -- CMD...` and `cloudlet logs NAME`, for instances on
 * this machine. The instance's `status.member` and `status.containerName`
 * say where it runs; when that member is the one whose data dir is on this
 * host (its `member.json` names it and its lxcpath), exec runs
 * `lxc-attach -P LXCPATH -n CONTAINER -- CMD...` through lib/host with stdio
 * inherited, and logs prints `LXCPATH/CONTAINER/console.log`. An instance on
 * another member is an error that names that member. (A server endpoint that
 * streams exec/logs from any member can replace this later.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NotFoundError, UnavailableError, ValidationError } from '../../lib/errors.js';
import { isJsonMap, type JsonMap } from '../../lib/json.js';
import { resourcePath } from '../client/resources.js';
import type { CliContext } from '../context.js';

/** LocalMember is what `<dataDir>/member.json` says about the member on this host. */
export interface LocalMember {
  name: string;
  lxcpath: string;
}

/** InstanceShellOptions: where to look for member.json (default: beside the kubeconfig, then DEFAULT_DATA_DIR). */
export interface InstanceShellOptions {
  dataDir?: string;
}

/** InstancePlacement is where an instance runs. */
export interface InstancePlacement {
  member: string;
  container: string;
}

/** placementOf reads status.member and status.containerName; throws ValidationError when not placed or not created yet. */
export function placementOf(name: string, obj: JsonMap): InstancePlacement {
  const status = isJsonMap(obj.status) ? obj.status : {};
  const phase = typeof status.phase === 'string' ? status.phase : 'Pending';
  if (typeof status.member !== 'string' || status.member === '') {
    throw new ValidationError(`instance "${name}" is not placed on a member yet (phase ${phase})`);
  }
  if (typeof status.containerName !== 'string' || status.containerName === '') {
    throw new ValidationError(`instance "${name}" has no container yet on member "${status.member}" (phase ${phase})`);
  }
  return { member: status.member, container: status.containerName };
}

/** readLocalMember reads member.json from the first of `dirs` that has one, or undefined. */
export function readLocalMember(dirs: string[]): (LocalMember & { dataDir: string }) | undefined {
  for (const dir of dirs) {
    const path = join(dir, 'member.json');
    if (!existsSync(path)) continue;
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (isJsonMap(parsed) && typeof parsed.name === 'string' && typeof parsed.lxcpath === 'string') {
      return { name: parsed.name, lxcpath: parsed.lxcpath, dataDir: dir };
    }
  }
  return undefined;
}

async function locate(
  ctx: CliContext,
  name: string,
  opts: InstanceShellOptions,
): Promise<{ member: LocalMember; placement: InstancePlacement }> {
  const client = await ctx.client();
  const r = (await ctx.catalog()).resolve('instances');
  const obj = await client.request<JsonMap>({ path: resourcePath(r, { namespace: await ctx.namespace(), name }) });
  const placement = placementOf(name, obj);
  const dirs = opts.dataDir
    ? [opts.dataDir]
    : [dirname(await ctx.kubeconfigPath()), (await import('../../lib/defaults.js')).DEFAULT_DATA_DIR];
  const member = readLocalMember(dirs);
  if (!member) {
    throw new UnavailableError(
      `instance "${name}" runs on member "${placement.member}", and no Cloudlet member runs on this machine (no member.json in ${dirs.join(' or ')}); run this command on ${placement.member} (or pass --data-dir)`,
    );
  }
  if (member.name !== placement.member) {
    throw new UnavailableError(
      `instance "${name}" runs on member "${placement.member}", not on this machine (member "${member.name}"); run this command on ${placement.member}`,
    );
  }
  return { member, placement };
}

/** runExec implements `cloudlet exec NAME -- CMD...`; returns the command's exit code. */
export async function runExec(ctx: CliContext, name: string, command: string[], opts: InstanceShellOptions): Promise<number> {
  if (command.length === 0) throw new ValidationError('exec needs a command: cloudlet exec NAME -- CMD [ARGS...]');
  const { member, placement } = await locate(ctx, name, opts);
  const { spawnAttached } = await import('../../lib/host/exec.js');
  return spawnAttached(['lxc-attach', '-P', member.lxcpath, '-n', placement.container, '--', ...command]);
}

/** runLogs implements `cloudlet logs NAME`: prints the container's console log. */
export async function runLogs(ctx: CliContext, name: string, opts: InstanceShellOptions): Promise<number> {
  const { member, placement } = await locate(ctx, name, opts);
  const path = join(member.lxcpath, placement.container, 'console.log');
  if (!existsSync(path)) throw new NotFoundError(`instance "${name}" has no console log yet (${path})`);
  ctx.io.stdout(readFileSync(path, 'utf8'));
  return 0;
}
