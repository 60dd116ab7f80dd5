/**
 * The `cloudlet` command tree (commander). Every action imports its module
 * lazily so that `cloudlet --help` and simple commands start fast. Exit
 * codes: 0 success, 1 a failed operation (`error: ...` or `Error from server
 * (Reason): ...` on stderr), 2 bad command-line arguments (commander's
 * message and a hint).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { formatCliError } from './client/status.js';
import { CliContext, type CliIO, type GlobalOptions } from './context.js';
import { registerMembershipCommands } from './commands/membership.js';
import { registerAccessCommands } from './commands/access.js';
import { registerRecoveryCommands } from './commands/recovery.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseBool(value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`"${value}" is not a boolean (use true or false)`);
}

interface DaemonFlags {
  dataDir?: string;
  listen?: string;
  etcdEndpoints?: string;
  etcdBinary?: string;
  member?: string;
  runtime?: 'lxc' | 'hollow';
  imageDir?: string;
}

function daemonFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (default: $CLOUDLET_DATA_DIR or /var/lib/cloudlet)')
    .option('--listen <host:port>', 'API listen address', '127.0.0.1:6443')
    .option('--etcd-endpoints <urls>', 'comma-separated URLs of an external etcd (default: run an embedded etcd)')
    .option('--etcd-binary <path>', 'etcd binary for the embedded etcd (default: found on PATH)')
    .option('--member <name>', 'member name (default: from the host name)')
    .addOption(new Option('--runtime <runtime>', 'instance runtime').choices(['lxc', 'hollow']).default('lxc'))
    .option('--image-dir <dir>', 'the only directory file:// images are read from (default: <data dir>/image-files)');
}

async function daemonOptions(flags: DaemonFlags) {
  const daemon = await import('../daemon/index.js');
  const opts: import('../daemon/index.js').DaemonOptions = {
    dataDir: flags.dataDir ?? daemon.DEFAULT_DATA_DIR,
    listen: flags.listen ?? '127.0.0.1:6443',
    ...(flags.etcdEndpoints
      ? {
          etcdEndpoints: flags.etcdEndpoints
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    ...(flags.etcdBinary ? { etcdBinary: flags.etcdBinary } : {}),
    ...(flags.member ? { memberName: flags.member } : {}),
    ...(flags.runtime ? { runtime: flags.runtime } : {}),
    ...(flags.imageDir ? { imageDir: flags.imageDir } : {}),
  };
  return { daemon, opts };
}

/** buildProgram makes the command tree; actions report their exit code through `setExit`. */
export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('cloudlet');
  const ctxOf = (cmd: Command): CliContext => new CliContext(cmd.optsWithGlobals<GlobalOptions>(), io);
  program
    .description('Cloudlet: a small on-premises cloud of system containers, storage and networks')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, else <data dir>/kubeconfig)')
    .option('-n, --namespace <ns>', 'namespace (default: the kubeconfig context\'s, else "default")')
    .option('--request-timeout <duration>', 'timeout of each API request, e.g. 30s (0 = none)')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError('(run "cloudlet --help" or "cloudlet COMMAND --help" for usage)')
    .exitOverride();

  daemonFlags(program.command('up').description('create a one-member cluster in the data dir (first run) and run its daemon')).action(
    async (flags: DaemonFlags) => {
      const { daemon, opts } = await daemonOptions(flags);
      await daemon.runUp(opts);
      setExit(0);
    },
  );
  daemonFlags(program.command('daemon').description('run the daemon of an initialised data dir')).action(async (flags: DaemonFlags) => {
    const { daemon, opts } = await daemonOptions(flags);
    await daemon.runDaemon(opts);
    setExit(0);
  });

  program
    .command('apply')
    .description('create or update objects from YAML/JSON manifests (all documents are validated before any is written)')
    .option('-f, --filename <path>', 'file, directory (*.yaml, *.yml, *.json) or - for stdin; repeatable', collect, [])
    .option('--dry-run', 'validate on the server and report, write nothing')
    .option('--server-side', 'use server-side apply (field manager "cloudlet")')
    .option('--force-conflicts', 'with --server-side: take over fields owned by other managers')
    .action(async (opts: { filename: string[]; dryRun?: boolean; serverSide?: boolean; forceConflicts?: boolean }, cmd: Command) => {
      const { runApply } = await import('./commands/apply.js');
      setExit(await runApply(ctxOf(cmd), opts));
    });

  program
    .command('get')
    .description('list objects, or show some (KIND accepts plural, singular, Kind, short names and KIND/NAME)')
    .argument('<kind>', 'kind, or KIND/NAME')
    .argument('[names...]', 'object names')
    .option('-o, --output <format>', 'wide | yaml | json | name | jsonpath=TEMPLATE')
    .option('-w, --watch', 'after printing, print a row for every change until interrupted')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option(
      '--allow-missing-template-keys [bool]',
      'with -o jsonpath: a missing field prints nothing (true, the default) or is an error (false)',
      (v: string) => v !== 'false',
    )
    .action(
      async (
        kind: string,
        names: string[],
        opts: { output?: string; watch?: boolean; selector?: string; allNamespaces?: boolean; allowMissingTemplateKeys?: boolean },
        cmd: Command,
      ) => {
        const { runGet } = await import('./commands/get.js');
        setExit(await runGet(ctxOf(cmd), [kind, ...names], opts));
      },
    );

  program
    .command('describe')
    .description('show one object in detail, with its conditions and events')
    .argument('<kind>', 'kind, or KIND/NAME')
    .argument('[names...]', 'object names')
    .action(async (kind: string, names: string[], _opts: unknown, cmd: Command) => {
      const { runDescribe } = await import('./commands/describe.js');
      setExit(await runDescribe(ctxOf(cmd), [kind, ...names]));
    });

  program
    .command('delete')
    .description('delete objects and wait until they are gone (finalizers included)')
    .argument('[args...]', 'KIND NAME... or KIND/NAME...')
    .option('-f, --filename <path>', 'delete the objects in these manifests; repeatable', collect, [])
    .option('--wait [bool]', 'wait until the objects are gone', parseBool, true)
    .option('--timeout <duration>', 'how long to wait', '60s')
    .option('--ignore-not-found', 'treat "not found" as success')
    .action(
      async (args: string[], opts: { filename: string[]; wait: boolean; timeout: string; ignoreNotFound?: boolean }, cmd: Command) => {
        const { runDelete } = await import('./commands/delete.js');
        setExit(await runDelete(ctxOf(cmd), args, opts));
      },
    );

  program
    .command('wait')
    .description("wait for a condition: --for=condition=Ready[=True], --for=delete, --for=jsonpath='{.status.phase}'=Running")
    .argument('<args...>', 'KIND/NAME or KIND NAME')
    .requiredOption('--for <condition>', 'the condition to wait for')
    .option('--timeout <duration>', 'how long to wait', '60s')
    .action(async (args: string[], opts: { for: string; timeout: string }, cmd: Command) => {
      const { runWait } = await import('./commands/wait.js');
      setExit(await runWait(ctxOf(cmd), args, opts));
    });

  program
    .command('exec')
    .description('run a command in an instance on this machine: cloudlet exec NAME -- CMD [ARGS...]')
    .argument('<name>', 'instance name')
    .argument('[command...]', 'command and arguments (after --)')
    .option('--data-dir <dir>', "data dir of this machine's member (default: beside the kubeconfig)")
    .action(async (name: string, command: string[], opts: { dataDir?: string }, cmd: Command) => {
      const { runExec } = await import('./commands/instance-shell.js');
      setExit(await runExec(ctxOf(cmd), name, command, opts));
    });

  program
    .command('logs')
    .description("print an instance's console log (instance on this machine)")
    .argument('<name>', 'instance name')
    .option('--data-dir <dir>', "data dir of this machine's member (default: beside the kubeconfig)")
    .action(async (name: string, opts: { dataDir?: string }, cmd: Command) => {
      const { runLogs } = await import('./commands/instance-shell.js');
      setExit(await runLogs(ctxOf(cmd), name, opts));
    });

  registerMembershipCommands(program, ctxOf, setExit);
  registerAccessCommands(program, ctxOf, setExit);
  registerRecoveryCommands(program, ctxOf, setExit);

  program
    .command('version')
    .description('print the client and server versions')
    .option('--client', 'client version only')
    .action(async (opts: { client?: boolean }, cmd: Command) => {
      const { runVersion } = await import('./commands/version.js');
      setExit(await runVersion(ctxOf(cmd), { clientOnly: opts.client === true }));
    });

  return program;
}

/** runCli parses `args` (without node and script), runs the command and returns the exit code; it never throws. */
export async function runCli(args: string[], io: CliIO): Promise<number> {
  let exit = 0;
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed help, or its message and the hint.
      return err.exitCode === 0 ? 0 : 2;
    }
    io.stderr(`${formatCliError(err)}\n`);
    return 1;
  }
}
