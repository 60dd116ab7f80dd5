import { expect } from 'chai';
import { which } from '../../../../lib/host/which.js';
import { NotFoundError } from '../../../../lib/errors.js';

describe('which', () => {
  it('finds a program on PATH', async () => {
    expect(await which('sh')).to.match(/\/sh$/);
  });

  it('names the Debian package to install when a known program is missing', async () => {
    const err = await which('debootstrap', { path: '/nonexistent' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NotFoundError);
    expect((err as Error).message).to.contain('apt-get install debootstrap');
  });

  it('uses the package given by the caller', async () => {
    const err = await which('frobnicate', { path: '/nonexistent', package: 'frob-tools' }).catch((e: unknown) => e);
    expect((err as Error).message).to.contain('apt-get install frob-tools');
  });
});
