import { expect } from 'chai';
import type { ApiClient } from '../../../../cli/client/api-client.js';
import { waitForObject } from '../../../../cli/client/object-watch.js';
import type { ResourceInfo } from '../../../../cli/client/resources.js';
import { markTransportFailure } from '../../../../cli/client/transport.js';
import { BadRequestError, UnavailableError, isCode } from '../../../../lib/errors.js';

const NETWORKS: ResourceInfo = {
  group: 'cloudlet.dev',
  version: 'v1alpha1',
  kind: 'Network',
  plural: 'networks',
  singular: 'network',
  shortNames: [],
  namespaced: false,
  apiVersion: 'cloudlet.dev/v1alpha1',
};

/** fakeClient answers each list with the next scripted step (an error to throw or the items present). */
function fakeClient(steps: Array<Error | unknown[]>): ApiClient & { lists: number } {
  const c = {
    lists: 0,
    request: async () => {
      const step = steps[Math.min(c.lists, steps.length - 1)];
      c.lists++;
      if (step instanceof Error) throw step;
      return { metadata: { resourceVersion: '1' }, items: step };
    },
    watch: async () => undefined,
  };
  return c as unknown as ApiClient & { lists: number };
}

describe('waitForObject', () => {
  it('rides out a server that does not answer for a moment, until the deadline', async () => {
    const unreachable = markTransportFailure(new UnavailableError('cannot reach the server https://10.0.0.1:6443: connect ETIMEDOUT'));
    const client = fakeClient([unreachable, [{ metadata: { name: 'ov' } }], []]);
    const got = await waitForObject(client, { resource: NETWORKS, name: 'ov' }, { timeoutMs: 10_000, until: (o) => o === undefined });
    expect(got).to.equal(undefined);
    expect(client.lists).to.equal(3);
  });

  it('passes any answer from the server that is an error straight on', async () => {
    const client = fakeClient([new BadRequestError('bad field selector')]);
    const err = await waitForObject(client, { resource: NETWORKS, name: 'ov' }, { timeoutMs: 10_000, until: (o) => o === undefined }).catch(
      (e: unknown) => e,
    );
    expect(isCode(err, 'BadRequest')).to.equal(true);
    expect(client.lists).to.equal(1);
  });
});
