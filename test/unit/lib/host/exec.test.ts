import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { run, spawnAttached } from '../../../../lib/host/exec.js';
import { HostCommandError, TimeoutError } from '../../../../lib/errors.js';

function isAlive(pid: number): boolean {
  try {
    // A zombie waiting to be reaped is dead for our purpose.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('host exec', () => {
  it('runs an argv without a shell and returns stdout', async () => {
    const r = await run(['echo', 'a;b', '$HOME']);
    expect(r.stdout).to.equal('a;b $HOME\n');
    expect(r.exitCode).to.equal(0);
  });

  it('throws HostCommandError with the command, exit code and stderr tail on failure', async () => {
    const err = await run(['sh', '-c', 'echo line1 >&2; echo boom >&2; exit 3']).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HostCommandError);
    const e = err as HostCommandError;
    expect(e.exitCode).to.equal(3);
    expect(e.command).to.deep.equal(['sh', '-c', 'echo line1 >&2; echo boom >&2; exit 3']);
    expect(e.stderrTail).to.contain('boom');
  });

  it('accepts listed exit codes as success', async () => {
    const r = await run(['sh', '-c', 'exit 2'], { okExitCodes: [0, 2] });
    expect(r.exitCode).to.equal(2);
  });

  it('reports a missing program as exit code 127', async () => {
    const err = await run(['/nonexistent/program']).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HostCommandError);
    expect((err as HostCommandError).exitCode).to.equal(127);
  });

  it('feeds stdin and passes env and cwd', async () => {
    const r = await run(['sh', '-c', 'cat; echo "$FOO"; pwd'], {
      stdin: 'in\n',
      env: { FOO: 'bar', PATH: process.env.PATH ?? '' },
      cwd: '/tmp',
    });
    expect(r.stdout).to.equal('in\nbar\n/tmp\n');
  });

  it('kills the whole process group on timeout and throws TimeoutError', async () => {
    let sleepPid = 0;
    const err = await run(['sh', '-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300, onStdoutLine: (l) => (sleepPid = Number(l)) }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(TimeoutError);
    // The grandchild sleep was in the group too: it must be gone.
    expect(sleepPid).to.be.greaterThan(0);
    expect(isAlive(sleepPid), `sleep ${sleepPid} survived`).to.equal(false);
  });

  it('fails a command whose output exceeds maxBuffer', async () => {
    const err = await run(['sh', '-c', 'yes | head -c 100000'], { maxBuffer: 1000 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HostCommandError);
    expect((err as HostCommandError).message).to.contain('maxBuffer');
  });

  it('hands complete output lines to the line callbacks', async () => {
    const lines: string[] = [];
    await run(['sh', '-c', 'printf "a\\nb\\nc"'], { onStdoutLine: (l) => lines.push(l) });
    expect(lines).to.deep.equal(['a', 'b', 'c']);
  });

  it('spawnAttached streams stdin to stdout and returns the exit code', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (b: Buffer) => chunks.push(b));
    const code = await spawnAttached(['sh', '-c', 'cat; exit 7'], { stdin: Readable.from(['hello ', 'world']), stdout: out, stderr: out });
    expect(code).to.equal(7);
    expect(Buffer.concat(chunks).toString()).to.equal('hello world');
  });
});
