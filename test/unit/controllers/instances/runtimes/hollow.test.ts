import { expect } from 'chai';
import { HollowRuntime } from '../../../../../controllers/instances/runtimes/hollow.js';
import { BaseRuntime } from '../../../../../controllers/instances/runtimes/base.js';
import { runtimes, DEFAULT_RUNTIME, isRuntimeName } from '../../../../../controllers/instances/runtimes/registry.js';
import { NotSupportedError } from '../../../../../lib/errors.js';
import type { RuntimeInfo } from '../../../../../controllers/instances/runtimes/types.js';

const spec = { containerName: 'cl-x-default_a', hostname: 'a', rootfsPath: '/nowhere', nics: [], mounts: [] };

describe('HollowRuntime', () => {
  it('says it is simulated', () => {
    expect(new HollowRuntime().info.simulated).to.equal(true);
  });

  it('goes through the lifecycle idempotently', async () => {
    const rt = new HollowRuntime({ now: () => new Date('2024-01-01T00:00:00Z') });
    expect((await rt.ensureCreated(spec)).created).to.equal(true);
    expect((await rt.ensureCreated(spec)).created).to.equal(false);
    await rt.start('cl-x-default_a');
    await rt.start('cl-x-default_a');
    const obs = await rt.observe('cl-x-default_a');
    expect(obs).to.include({ exists: true, state: 'RUNNING', initStartedAt: '2024-01-01T00:00:00.000Z' });
    await rt.stop('cl-x-default_a');
    await rt.stop('cl-x-default_a');
    expect((await rt.observe('cl-x-default_a')).state).to.equal('STOPPED');
    await rt.delete('cl-x-default_a');
    await rt.delete('cl-x-default_a');
    expect(await rt.observe('cl-x-default_a')).to.deep.equal({ exists: false, state: 'STOPPED' });
  });

  it('simulates a crash', async () => {
    const rt = new HollowRuntime();
    await rt.ensureCreated(spec);
    await rt.start(spec.containerName);
    rt.simulateCrash(spec.containerName);
    expect((await rt.observe(spec.containerName)).state).to.equal('STOPPED');
  });

  it('lists only containers with its prefix', async () => {
    const rt = new HollowRuntime({ prefix: 'cl-x-' });
    await rt.ensureCreated(spec);
    expect(await rt.list()).to.deep.equal(['cl-x-default_a']);
  });
});

describe('runtime registry and base', () => {
  it('registers lxc and hollow, with lxc the default', () => {
    expect(Object.keys(runtimes).sort()).to.deep.equal(['hollow', 'lxc']);
    expect(DEFAULT_RUNTIME).to.equal('lxc');
    expect(isRuntimeName('hollow')).to.equal(true);
    expect(isRuntimeName('docker')).to.equal(false);
  });

  it('builds each runtime from its factory', () => {
    expect(runtimes.lxc({ dataDir: '/tmp/x' }).info.name).to.equal('lxc');
    expect(runtimes.hollow({ dataDir: '/tmp/x' }).info.simulated).to.equal(true);
  });

  it('throws NotSupportedError for verbs a driver does not implement', async () => {
    class Partial extends BaseRuntime {
      readonly info: RuntimeInfo = { name: 'partial', liveResize: false, console: false, exec: false, simulated: true };
    }
    const err = await new Partial().exec('x', ['true']).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NotSupportedError);
    expect(() => new Partial().consoleLogPath('x')).to.throw(NotSupportedError);
  });
});
