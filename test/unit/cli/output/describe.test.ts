import { expect } from 'chai';
import { LAST_APPLIED_ANNOTATION } from '../../../../cli/apply/merge-patch.js';
import { describeObject, eventsLines } from '../../../../cli/output/describe.js';

const now = Date.parse('2025-01-01T01:00:00Z');
const instance = {
  apiVersion: 'cloudlet.dev/v1alpha1',
  kind: 'Instance',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'u-1',
    labels: { tier: 'front', app: 'web' },
    annotations: { [LAST_APPLIED_ANNOTATION]: '{}', note: 'hello' },
    creationTimestamp: '2025-01-01T00:00:00Z',
    finalizers: ['cloudlet.dev/instance'],
  },
  spec: { image: 'busybox', nics: [{ network: 'lan' }] },
  status: {
    phase: 'Running',
    member: 'm1',
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Started', message: 'container running', lastTransitionTime: '2025-01-01T00:10:00Z' },
    ],
  },
};

describe('describeObject', () => {
  const text = describeObject({ object: instance, events: [], now });
  const lines = text.split('\n');

  it('starts with name, namespace, sorted labels and annotations without last-applied', () => {
    expect(lines.slice(0, 5)).to.deep.equal([
      'Name:         web',
      'Namespace:    default',
      'Labels:       app=web',
      '              tier=front',
      'Annotations:  note=hello',
    ]);
    expect(text).to.not.include(LAST_APPLIED_ANNOTATION);
  });

  it('shows spec and status as indented YAML and conditions as a table', () => {
    expect(text).to.include('Spec:\n  image: busybox\n  nics:\n    - network: lan\n');
    expect(text).to.include('Status:\n  phase: Running\n  member: m1\n');
    expect(text).to.include(
      'Conditions:\n  Type   Status  Reason   Message            LastTransitionTime\n  ----   ------  ------   -------            ------------------\n  Ready  True    Started  container running  2025-01-01T00:10:00Z\n',
    );
    expect(text).to.include('Finalizers:   cloudlet.dev/instance');
  });

  it('says Events: <none> when there are none', () => {
    expect(lines.filter(Boolean).at(-1)).to.equal('Events:  <none>');
  });
});

describe('eventsLines', () => {
  it('lists events oldest first with age, repeat count and source', () => {
    const lines = eventsLines(
      [
        {
          type: 'Warning',
          reason: 'Failed',
          message: 'start\nfailed',
          count: 3,
          firstTimestamp: '2025-01-01T00:50:00Z',
          lastTimestamp: '2025-01-01T00:59:00Z',
          source: { component: 'agent' },
        },
        {
          type: 'Normal',
          reason: 'Scheduled',
          message: 'placed on m1',
          lastTimestamp: '2025-01-01T00:30:00Z',
          reportingComponent: 'scheduler',
        },
      ],
      now,
    );
    expect(lines).to.deep.equal([
      'Events:',
      '  Type     Reason     Age                From       Message',
      '  ----     ------     ---                ----       -------',
      '  Normal   Scheduled  30m                scheduler  placed on m1',
      '  Warning  Failed     60s (x3 over 10m)  agent      start failed',
    ]);
  });
});
