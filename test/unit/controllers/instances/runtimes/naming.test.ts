import { expect } from 'chai';
import {
  containerNameFor,
  containerNamePrefix,
  dataDirTag,
  hostnameFor,
  MAX_CONTAINER_NAME,
} from '../../../../../controllers/instances/runtimes/naming.js';

describe('container naming', () => {
  it('names a container cl-<tag>-<namespace>_<name>', () => {
    const name = containerNameFor({ dataDir: '/var/lib/cloudlet', namespace: 'default', name: 'web' });
    expect(name).to.equal(`cl-${dataDirTag('/var/lib/cloudlet')}-default_web`);
    expect(name.startsWith(containerNamePrefix('/var/lib/cloudlet'))).to.equal(true);
  });

  it('gives different names to the same instance under different data dirs', () => {
    const a = containerNameFor({ dataDir: '/lab/m1', namespace: 'default', name: 'web' });
    const b = containerNameFor({ dataDir: '/lab/m2', namespace: 'default', name: 'web' });
    expect(a).to.not.equal(b);
  });

  it('keeps namespace and name unambiguous', () => {
    const a = containerNameFor({ dataDir: '/d', namespace: 'a-b', name: 'c' });
    const b = containerNameFor({ dataDir: '/d', namespace: 'a', name: 'b-c' });
    expect(a).to.not.equal(b);
  });

  it('is deterministic', () => {
    const opts = { dataDir: '/d', namespace: 'ns', name: 'x' };
    expect(containerNameFor(opts)).to.equal(containerNameFor(opts));
  });

  it('cuts long names to 63 characters and keeps them unique with a hash', () => {
    const long = 'a'.repeat(100);
    const a = containerNameFor({ dataDir: '/d', namespace: 'default', name: `${long}1` });
    const b = containerNameFor({ dataDir: '/d', namespace: 'default', name: `${long}2` });
    expect(a.length).to.be.at.most(MAX_CONTAINER_NAME);
    expect(b.length).to.be.at.most(MAX_CONTAINER_NAME);
    expect(a).to.not.equal(b);
    expect(a.startsWith(containerNamePrefix('/d'))).to.equal(true);
  });

  it('treats equivalent data dir spellings alike', () => {
    expect(dataDirTag('/var/lib/cloudlet/')).to.equal(dataDirTag('/var/lib/cloudlet'));
  });

  it('makes hostnames that are DNS labels', () => {
    expect(hostnameFor('web')).to.equal('web');
    expect(hostnameFor('web.example')).to.equal('web');
    expect(hostnameFor('x'.repeat(80))).to.have.length(63);
    expect(hostnameFor('Web_1')).to.equal('web-1');
  });
});
