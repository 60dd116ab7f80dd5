/**
 * Maintenance and disaster-recovery commands:
 * - `cloudlet member evacuate NAME`: mark the member unschedulable and ask
 *   the failover controller to move every instance with recovery failover or
 *   restart off it (the member goes Evacuating, then Evacuated);
 * - `cloudlet member restore NAME`: make it schedulable again and move the
 *   instances evacuated from it back;
 * - `cloudlet cluster recover`: on a surviving member whose cluster lost its
 *   etcd quorum, with its daemon stopped, restart its etcd once with
 *   --force-new-cluster so it becomes a one-voter cluster with all the data
 *   (docs/operations.md has the steps around it).
 */
import type { Command } from 'commander';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliContext } from '../context.js';
import { processAlive } from '../../lib/host/proc.js';

const MAINTENANCE = 'cloudlet.dev/maintenance';

/** registerRecoveryCommands adds `member evacuate|restore` and `cluster recover` to `program` (the `member` group exists already). */
export function registerRecoveryCommands(program: Command, ctxOf: (cmd: Command) => CliContext, setExit: (code: number) => void): void {
  const member = program.commands.find((c) => c.name() === 'member') ?? program.command('member').description('cluster members');
  const verbs = [
    {
      verb: 'evacuate',
      description: 'make a member unschedulable and move its failover and restart instances to other members (for maintenance)',
      wait: 'wait until the member is Evacuated',
    },
    {
      verb: 'restore',
      description: 'make an evacuated member schedulable again and move the instances evacuated from it back',
      wait: 'wait until every evacuated instance is back',
    },
  ] as const;
  for (const { verb, description, wait } of verbs) {
    member
      .command(verb)
      .description(description)
      .argument('<name>', 'member name')
      .option('--wait', wait)
      .action(async (name: string, flags: { wait?: boolean }, cmd: Command) => {
        setExit(await maintain(ctxOf(cmd), name, verb, flags.wait ?? false));
      });
  }

  const cluster =
    program.commands.find((c) => c.name() === 'cluster') ?? program.command('cluster').description('whole-cluster operations');
  cluster
    .command('recover')
    .description(
      'after a lost etcd quorum: make this (stopped) member a one-voter cluster with all the data (etcd --force-new-cluster); see docs/operations.md',
    )
    .option('--data-dir <dir>', 'data directory of this member (default: $CLOUDLET_DATA_DIR or /var/lib/cloudlet)')
    .option('--yes', 'do not ask for confirmation (required without a terminal)')
    .action(async (flags: { dataDir?: string; yes?: boolean }, cmd: Command) => {
      setExit(await recover(ctxOf(cmd), flags));
    });
}

interface MemberDoc {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status?: { phase?: string; message?: string };
}

const path = (name: string): string => `/apis/cloudlet.dev/v1alpha1/members/${encodeURIComponent(name)}`;

async function maintain(ctx: CliContext, name: string, what: 'evacuate' | 'restore', wait: boolean): Promise<number> {
  const client = await ctx.client();
  for (let attempt = 0; ; attempt++) {
    const m = await client.request<MemberDoc>({ method: 'GET', path: path(name) });
    const body: MemberDoc = {
      ...m,
      metadata: { ...m.metadata, annotations: { ...m.metadata.annotations, [MAINTENANCE]: what } },
      spec: { ...m.spec, unschedulable: what === 'evacuate' },
    };
    try {
      await client.request({ method: 'PUT', path: path(name), body });
      break;
    } catch (err) {
      if (attempt >= 4 || !/Conflict|409/.test(String(err))) throw err;
    }
  }
  ctx.out(`member/${name} ${what === 'evacuate' ? 'is being evacuated (unschedulable)' : 'is being restored (schedulable)'}`);
  if (!wait) return 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const m = await client.request<MemberDoc>({ method: 'GET', path: path(name) });
    const done = what === 'evacuate' ? m.status?.phase === 'Evacuated' : m.metadata.annotations?.[MAINTENANCE] === undefined;
    if (done) {
      ctx.out(`member/${name} ${what === 'evacuate' ? 'evacuated' : 'restored'}${m.status?.message ? `: ${m.status.message}` : ''}`);
      return 0;
    }
  }
}

async function recover(ctx: CliContext, flags: { dataDir?: string; yes?: boolean }): Promise<number> {
  const { DEFAULT_DATA_DIR } = await import('../../lib/defaults.js');
  const dataDir = flags.dataDir ?? DEFAULT_DATA_DIR;
  const identity = JSON.parse(await readFile(join(dataDir, 'cluster.json'), 'utf8')) as {
    memberName: string;
    address?: string;
    etcd?: { mode?: string };
  };
  if (!identity.etcd || identity.etcd.mode === 'client') {
    ctx.err(
      `error: ${dataDir} does not hold an etcd member (it is an etcd client); run cluster recover on a member that was an etcd voter`,
    );
    return 1;
  }
  const pid = Number((await readFile(join(dataDir, 'daemon.pid'), 'utf8').catch(() => '')).trim());
  if (pid > 0 && processAlive(pid)) {
    ctx.err(`error: the daemon of ${dataDir} is running (pid ${pid}); stop it first (systemctl stop cloudlet, or kill ${pid})`);
    return 1;
  }
  ctx.out(`This makes member ${identity.memberName} (${dataDir}) the only etcd voter, keeping its copy of the data.`);
  ctx.out('Every other member must be removed and join again afterwards. A backup of the etcd data is kept.');
  if (!flags.yes) {
    if (!process.stdin.isTTY) {
      ctx.err('error: no terminal to confirm on: pass --yes');
      return 1;
    }
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question('Type "recover" to go on: ');
    rl.close();
    if (answer.trim() !== 'recover') {
      ctx.err('aborted: nothing changed');
      return 1;
    }
  }
  const backup = join(dataDir, 'etcd', `data.before-recover-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await cp(join(dataDir, 'etcd', 'data'), backup, { recursive: true });
  ctx.out(`1/3 backed up the etcd data to ${backup}`);
  const { EtcdServer } = await import('../../lib/etcd/server.js');
  const { memberTlsFiles } = await import('../../daemon/cluster.js');
  const { createRootLogger } = await import('../../lib/log/logger.js');
  const files = memberTlsFiles(dataDir);
  const tls = { certFile: files.certFile, keyFile: files.keyFile, trustedCaFile: files.caFile };
  const etcd = new EtcdServer({
    dataDir,
    logger: createRootLogger({ level: 'warn' }),
    name: identity.memberName,
    host: identity.address ?? '127.0.0.1',
    clientTls: tls,
    peerTls: tls,
    extraArgs: ['--force-new-cluster'],
    startTimeoutMs: 120_000,
  });
  const info = await etcd.start();
  ctx.out(`2/3 etcd restarted with --force-new-cluster at ${info.clientUrl}: it is a one-voter cluster now`);
  await etcd.stop();
  ctx.out('3/3 etcd stopped; start the daemon again (cloudlet daemon, or systemctl start cloudlet)');
  ctx.out(
    'Then, for every other member: cloudlet member remove NAME; on that machine move its data dir aside and cloudlet join a new token.',
  );
  return 0;
}
