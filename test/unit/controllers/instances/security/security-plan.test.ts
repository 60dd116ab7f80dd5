import { expect } from 'chai';
import { containerSecurity, decideSecurity, securityRecord } from '../../../../../controllers/instances/security/security-plan.js';
import { sharedIdmap } from '../../../../../controllers/instances/security/idmap.js';
import type { Instance } from '../../../../../lib/kinds/types.js';

function inst(spec: Partial<NonNullable<Instance['spec']>> = {}, status: Instance['status'] = {}): Instance {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: { image: 'busybox', ...spec },
    status,
  };
}

describe('decideSecurity', () => {
  const table: Array<{ name: string; instance: Instance; exists: boolean; want: ReturnType<typeof decideSecurity> }> = [
    {
      name: 'a new ordinary instance gets the shared map',
      instance: inst(),
      exists: false,
      want: { record: true, reason: 'Unprivileged', map: 'shared' },
    },
    {
      name: 'a new isolatedIdmap instance gets a private map',
      instance: inst({ security: { isolatedIdmap: true } }),
      exists: false,
      want: { record: true, reason: 'Unprivileged', map: 'isolated' },
    },
    {
      name: 'a new privileged instance gets no map',
      instance: inst({ security: { privileged: true } }),
      exists: false,
      want: { record: true, reason: 'PrivilegedRequested', map: 'none' },
    },
    {
      name: 'a container made before isolation is legacy privileged',
      instance: inst(),
      exists: true,
      want: { record: true, reason: 'LegacyPrivileged', map: 'none' },
    },
    {
      name: 'a recorded decision is kept (failover to another member)',
      instance: inst({ security: { privileged: true } }, { privileged: false, idmap: { hostId: 1065536, size: 65536, isolated: true } }),
      exists: false,
      want: { record: false },
    },
  ];
  for (const t of table)
    it(t.name, () => expect(decideSecurity({ instance: t.instance, containerExists: t.exists })).to.deep.equal(t.want));
});

describe('securityRecord and containerSecurity', () => {
  const shared = sharedIdmap();
  it('records an unprivileged instance with its map and a Privileged=False condition, no Event', () => {
    const rec = securityRecord({ instance: inst(), reason: 'Unprivileged', idmap: shared, now: 0 });
    expect(rec.status.privileged).to.equal(false);
    expect(rec.status.idmap).to.deep.equal(shared);
    expect(rec.status.conditions?.[0]).to.include({ type: 'Privileged', status: 'False', reason: 'Unprivileged' });
    expect(rec.event).to.equal(undefined);
    expect(containerSecurity(rec.status, shared)).to.deep.equal({ privileged: false, idmap: shared });
  });

  it('warns when an instance runs privileged, by request or from before', () => {
    for (const reason of ['PrivilegedRequested', 'LegacyPrivileged'] as const) {
      const rec = securityRecord({ instance: inst(), reason, now: 0 });
      expect(rec.status.privileged).to.equal(true);
      expect(rec.status.idmap).to.equal(undefined);
      expect(rec.status.conditions?.[0]).to.include({ type: 'Privileged', status: 'True', reason });
      expect(rec.event).to.include({ type: 'Warning', reason });
      expect(containerSecurity(rec.status, shared)).to.deep.equal({ privileged: true });
    }
  });

  it('never makes a container privileged unless status says so', () => {
    expect(containerSecurity(undefined, shared)).to.deep.equal({ privileged: false, idmap: shared });
    expect(containerSecurity({ privileged: false }, shared)).to.deep.equal({ privileged: false, idmap: shared });
  });
});
