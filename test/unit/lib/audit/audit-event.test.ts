import { expect } from 'chai';
import { buildAuditEvent, formatLatency, microTime, nowMicros, policy, type AuditRecord } from '../../../../lib/audit/audit-event.js';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5) * 1000 + 123_456; // 2025-01-02T03:04:05.123456Z

describe('audit policy', () => {
  const rows: Array<[string, number, boolean]> = [
    ['create', 201, true],
    ['update', 200, true],
    ['patch', 200, true],
    ['delete', 200, true],
    ['deletecollection', 200, true],
    ['create', 409, true],
    ['patch', 422, true],
    ['delete', 500, true],
    ['post', 201, true],
    ['get', 200, false],
    ['list', 200, false],
    ['watch', 200, false],
    ['get', 404, false],
    ['get', 401, true],
    ['list', 403, true],
    ['watch', 429, true],
  ];
  for (const [verb, code, want] of rows) {
    it(`${want ? 'records' : 'does not record'} ${verb} answered ${code}`, () => expect(policy({ verb, code })).to.equal(want));
  }
});

describe('audit event', () => {
  const record: AuditRecord = {
    requestURI: '/apis/cloudlet.dev/v1alpha1/namespaces/team-b/instances/web',
    verb: 'delete',
    user: { name: 'alice', groups: ['devs', 'system:authenticated'] },
    sourceIPs: ['10.0.0.7'],
    userAgent: 'kubectl/v1.31.0',
    objectRef: {
      resource: 'instances',
      namespace: 'team-b',
      name: 'web',
      apiGroup: 'cloudlet.dev',
      apiVersion: 'v1alpha1',
      subresource: '',
    },
    code: 403,
    reason: 'Forbidden',
    message:
      'instances.cloudlet.dev "web" is forbidden: User "alice" cannot delete resource "instances" in API group "cloudlet.dev" in the namespace "team-b"',
    receivedMicros: T0,
    completedMicros: T0 + 12_345,
    decision: 'forbid',
    authorizationReason: '',
  };

  it('has the fields of an audit.k8s.io/v1 Event at level Metadata', () => {
    expect(buildAuditEvent(record, () => 'id-1')).to.deep.equal({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: 'id-1',
      stage: 'ResponseComplete',
      requestURI: record.requestURI,
      verb: 'delete',
      user: { username: 'alice', groups: ['devs', 'system:authenticated'] },
      sourceIPs: ['10.0.0.7'],
      userAgent: 'kubectl/v1.31.0',
      objectRef: { resource: 'instances', namespace: 'team-b', name: 'web', apiGroup: 'cloudlet.dev', apiVersion: 'v1alpha1' },
      responseStatus: { metadata: {}, code: 403, status: 'Failure', reason: 'Forbidden', message: record.message },
      requestReceivedTimestamp: '2025-01-02T03:04:05.123456Z',
      stageTimestamp: '2025-01-02T03:04:05.135801Z',
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'cloudlet.dev/latency': '12.3ms' },
    });
  });

  it('keeps the client Audit-ID and makes a UUID otherwise', () => {
    expect(buildAuditEvent({ ...record, auditID: 'from-client' }).auditID).to.equal('from-client');
    expect(buildAuditEvent(record).auditID).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('records a success without a Failure status, with the allowing reason', () => {
    const e = buildAuditEvent({
      ...record,
      code: 200,
      reason: undefined,
      message: undefined,
      decision: 'allow',
      authorizationReason: 'RBAC: allowed by …',
    });
    expect(e.responseStatus).to.deep.equal({ metadata: {}, code: 200 });
    expect(e.annotations['authorization.k8s.io/decision']).to.equal('allow');
    expect(e.annotations['authorization.k8s.io/reason']).to.equal('RBAC: allowed by …');
  });

  it('records an unauthenticated request with an empty user and no decision', () => {
    const e = buildAuditEvent({ ...record, user: undefined, code: 401, decision: undefined, objectRef: undefined });
    expect(e.user).to.deep.equal({});
    expect(e).not.to.have.property('objectRef');
    expect(e.annotations).to.have.all.keys('cloudlet.dev/latency');
  });

  it('formats microsecond timestamps and latencies', () => {
    expect(microTime(T0)).to.equal('2025-01-02T03:04:05.123456Z');
    expect(microTime(Date.UTC(2025, 0, 1) * 1000 + 7)).to.equal('2025-01-01T00:00:00.000007Z');
    expect(formatLatency(850)).to.equal('850µs');
    expect(formatLatency(12_345)).to.equal('12.3ms');
    expect(formatLatency(2_500_000)).to.equal('2.5s');
    expect(Math.abs(nowMicros() / 1000 - Date.now())).to.be.below(100);
  });
});
