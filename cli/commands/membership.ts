/**
 * Membership commands: `init`, `join`, `token create`, `leave` and
 * `member remove`. init and join prepare a data dir (then `cloudlet daemon`
 * runs it); the others talk to the cluster's API with the admin kubeconfig.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliContext } from '../context.js';

interface MemberFlags {
  dataDir?: string;
  listen: string;
  member?: string;
  address?: string;
}

async function dataDirOf(flags: { dataDir?: string }): Promise<string> {
  const { DEFAULT_DATA_DIR } = await import('../daemon/index.js');
  return flags.dataDir ?? DEFAULT_DATA_DIR;
}

function memberFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (default: $CLOUDLET_DATA_DIR or /var/lib/cloudlet)')
    .option('--listen <host:port>', 'API listen address', '127.0.0.1:6443')
    .option('--member <name>', 'member name (default: from the host name)')
    .option('--address <ip>', 'address other members reach this one at (default: the listen host)');
}

/** registerMembershipCommands adds the membership commands to `program`. */
export function registerMembershipCommands(program: Command, ctxOf: (cmd: Command) => CliContext, setExit: (code: number) => void): void {
  memberFlags(program.command('init').description('create a one-member cluster in a new data dir (then run it with `cloudlet daemon`)')).action(
    async (flags: MemberFlags, cmd: Command) => {
      const { runInit } = await import('../daemon/init.js');
      const dataDir = await dataDirOf(flags);
      const { kubeconfig, identity } = await runInit({ dataDir, listen: flags.listen, ...opt(flags) });
      ctxOf(cmd).out(`initialised member ${identity.memberName} of a new cluster in ${dataDir}; kubeconfig: ${kubeconfig}`);
      setExit(0);
    },
  );

  memberFlags(program.command('join').description('join the cluster named by TOKEN with a new data dir (then run it with `cloudlet daemon`)'))
    .argument('<token>', 'join token printed by `cloudlet token create`')
    .action(async (token: string, flags: MemberFlags, cmd: Command) => {
      const { runJoin } = await import('../daemon/join-client.js');
      const dataDir = await dataDirOf(flags);
      const { kubeconfig, identity } = await runJoin({ token, dataDir, listen: flags.listen, ...opt(flags) });
      const role = identity.etcd?.mode === 'member' ? 'an etcd learner (promoted to voter when it starts)' : 'an etcd client';
      ctxOf(cmd).out(`joined as member ${identity.memberName}, ${role}; data dir ${dataDir}; kubeconfig: ${kubeconfig}`);
      setExit(0);
    });

  program
    .command('token')
    .description('join tokens')
    .command('create')
    .description('print a one-time join token')
    .option('--ttl <duration>', 'how long the token stays valid (e.g. 30m, 1h, 2d)', '1h')
    .action(async (flags: { ttl: string }, cmd: Command) => {
      const { parseTtl } = await import('../daemon/join-token.js');
      const ttlSeconds = parseTtl(flags.ttl);
      const ctx = ctxOf(cmd);
      const res = await (await ctx.client()).request<{ token: string }>({ method: 'POST', path: '/cloudlet/join-tokens', body: { ttlSeconds } });
      ctx.out(res.token);
      setExit(0);
    });

  program
    .command('member')
    .description('cluster members')
    .command('remove')
    .description('remove a member: its etcd membership, heartbeat and Member object (needs an etcd quorum without it; then stop its daemon)')
    .argument('<name>', 'member name')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      setExit(await removeMember(ctxOf(cmd), name));
    });

  program
    .command('leave')
    .description("remove this machine's member from its cluster (run while the cluster has quorum without it; then stop its daemon)")
    .option('--data-dir <dir>', 'data directory of this member')
    .action(async (flags: { dataDir?: string }, cmd: Command) => {
      const dataDir = await dataDirOf(flags);
      const { memberName } = JSON.parse(await readFile(join(dataDir, 'cluster.json'), 'utf8')) as { memberName: string };
      setExit(await removeMember(ctxOf(cmd), memberName));
    });
}

function opt(flags: MemberFlags): { memberName?: string; address?: string } {
  return { ...(flags.member ? { memberName: flags.member } : {}), ...(flags.address ? { address: flags.address } : {}) };
}

async function removeMember(ctx: CliContext, name: string): Promise<number> {
  const res = await (await ctx.client()).request<{ removed: string; etcdMemberRemoved: boolean }>({
    method: 'POST',
    path: '/cloudlet/members/remove',
    body: { member: name },
  });
  ctx.out(`member ${res.removed} removed${res.etcdMemberRemoved ? ' (and its etcd member)' : ''}`);
  return 0;
}
