import { expect } from 'chai';
import {
  labelMatcherFromSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../../../../lib/store/selectors.js';
import type { KubeObject } from '../../../../lib/store/types.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'cloudlet.dev/role': 'x' };
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app in (db)', false],
    ['app notin (db)', true],
    ['missing notin (db)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['cloudlet.dev/role=x, app = web', true],
    ['app=web,tier=back', false],
    ['app=', false],
  ];
  for (const [selector, expected] of cases) {
    it(`${expected ? 'matches' : 'does not match'} "${selector}"`, () => {
      expect(matchesLabels(parseLabelSelector(selector), labels)).to.equal(expected);
    });
  }

  for (const bad of ['app in web', 'app in (web', '=web', 'app=web,', 'a b', 'app=we b', '!', 'app>=1', 'app=$x']) {
    it(`rejects "${bad}" with a BadRequestError`, () => {
      expect(() => parseLabelSelector(bad))
        .to.throw()
        .with.property('name', 'BadRequestError');
    });
  }

  it('builds a matcher from matchLabels and matchExpressions', () => {
    const m = labelMatcherFromSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }],
    });
    expect(matchesLabels(m, labels)).to.equal(true);
    expect(matchesLabels(m, { app: 'web' })).to.equal(false);
  });
});

describe('field selectors', () => {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'X', metadata: { name: 'web', namespace: 'default' } };

  it('matches metadata.name and metadata.namespace with =, == and !=', () => {
    expect(matchesFields(parseFieldSelector('metadata.name=web'), obj)).to.equal(true);
    expect(matchesFields(parseFieldSelector('metadata.namespace==default,metadata.name!=db'), obj)).to.equal(true);
    expect(matchesFields(parseFieldSelector('metadata.name!=web'), obj)).to.equal(false);
  });

  it('rejects unsupported fields and malformed terms with a BadRequestError', () => {
    expect(() => parseFieldSelector('spec.image=busybox'))
      .to.throw()
      .with.property('name', 'BadRequestError');
    expect(() => parseFieldSelector('metadata.name'))
      .to.throw()
      .with.property('name', 'BadRequestError');
  });
});
