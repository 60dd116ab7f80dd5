import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCode } from '../../../../lib/errors.js';
import type { HostRunner, RunResult } from '../../../../lib/host/exec.js';
import { grantTraversal } from '../../../../lib/host/security.js';

/** recordingRunner records the argv of every command instead of running it. */
function recordingRunner(): { runner: HostRunner; calls: string[][] } {
  const calls: string[][] = [];
  const runner = {
    run: async (argv: string[]): Promise<RunResult> => {
      calls.push(argv);
      return { stdout: '', stderr: '', exitCode: 0 } as RunResult;
    },
    spawnAttached: async () => 0,
  } as unknown as HostRunner;
  return { runner, calls };
}

describe('grantTraversal', () => {
  let top: string;
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'cloudlet-grant-'));
    chmodSync(top, 0o711);
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));

  it("grants the mapped root search on the data dir's closed directories only, once per directory", async () => {
    const dataDir = join(top, 'data');
    mkdirSync(join(dataDir, 'rootfs', 'c1'), { recursive: true });
    chmodSync(dataDir, 0o711);
    chmodSync(join(dataDir, 'rootfs'), 0o700);
    const { runner, calls } = recordingRunner();
    const granted = new Set<string>();
    await grantTraversal({ path: join(dataDir, 'rootfs', 'c1'), uid: 1000000, dataDir, runner, granted });
    await grantTraversal({ path: join(dataDir, 'rootfs', 'c1'), uid: 1000000, dataDir, runner, granted });
    expect(calls).to.deep.equal([['setfacl', '-m', 'u:1000000:x', join(dataDir, 'rootfs')]]);
    await grantTraversal({ path: join(dataDir, 'rootfs', 'c1'), uid: 2000000, dataDir, runner, granted });
    expect(calls).to.have.length(2);
  });

  it('changes nothing above the data dir and names the directory that blocks the mapped root', async () => {
    const closed = join(top, 'closed');
    const dataDir = join(closed, 'data');
    mkdirSync(join(dataDir, 'rootfs', 'c1'), { recursive: true });
    chmodSync(closed, 0o700);
    const { runner, calls } = recordingRunner();
    const err = await grantTraversal({ path: join(dataDir, 'rootfs', 'c1'), uid: 1000000, dataDir, runner }).catch((e: unknown) => e);
    expect(isCode(err, 'Unavailable')).to.equal(true);
    expect((err as Error).message).to.contain(`${closed} has mode 700`);
    expect(calls).to.deep.equal([]);
  });
});
