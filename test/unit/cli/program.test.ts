import { expect } from 'chai';
import { runCli } from '../../../cli/program.js';
import type { CliIO } from '../../../cli/context.js';

function io(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readStdin: () => '', env: {} };
}

describe('runCli', () => {
  it("exits 2 with commander's message and a hint on bad arguments", async () => {
    const b = io();
    expect(await runCli(['get'], b)).to.equal(2);
    expect(b.err.join('')).to.include("error: missing required argument 'kind'").and.include('--help');
  });

  it('exits 2 on an unknown option', async () => {
    const b = io();
    expect(await runCli(['get', 'inst', '--bogus'], b)).to.equal(2);
    expect(b.err.join('')).to.include("unknown option '--bogus'");
  });

  it('exits 0 after printing help', async () => {
    const b = io();
    expect(await runCli(['--help'], b)).to.equal(0);
    expect(b.out.join('')).to.include('Usage: cloudlet');
  });

  it('prints error: and exits 1 when the kubeconfig is missing', async () => {
    const b = io();
    expect(await runCli(['get', 'inst', '--kubeconfig', '/nonexistent/kubeconfig'], b)).to.equal(1);
    expect(b.err.join('')).to.match(/^error: no kubeconfig at \/nonexistent\/kubeconfig/);
  });

  it('prints the client version without a server', async () => {
    const b = io();
    expect(await runCli(['version', '--client'], b)).to.equal(0);
    expect(b.out.join('')).to.match(/^Client Version: v\d+\.\d+\.\d+/);
  });
});
