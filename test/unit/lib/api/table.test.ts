import { expect } from 'chai';
import { buildTable, formatAge } from '../../../../lib/api/table.js';
import { evalJsonPath } from '../../../../lib/api/jsonpath.js';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import type { KubeObject } from '../../../../lib/store/types.js';

describe('formatAge', () => {
  const table: Array<[number, string]> = [
    [0, '0s'],
    [5, '5s'],
    [119, '119s'],
    [192, '3m12s'],
    [600, '10m'],
    [3 * 3600 + 5 * 60, '3h5m'],
    [10 * 3600, '10h'],
    [2 * 86400, '2d'],
    [3 * 86400 + 4 * 3600, '3d4h'],
    [30 * 86400, '30d'],
    [3 * 365 * 86400, '3y'],
  ];
  for (const [seconds, text] of table) {
    it(`renders ${seconds}s as ${text}`, () => {
      expect(formatAge(seconds * 1000)).to.equal(text);
    });
  }
});

describe('evalJsonPath', () => {
  const obj = { a: { b: 1, list: ['x', 'y'], objs: [{ n: 1 }, { n: 2 }] } };
  const table: Array<[string, unknown[]]> = [
    ['.a.b', [1]],
    ['.a.list[0]', ['x']],
    ['.a.list[5]', []],
    ['.a.objs[*].n', [1, 2]],
    ['.a.missing.deeper', []],
    ['{.a.b}', [1]],
  ];
  for (const [path, result] of table) {
    it(`evaluates ${path}`, () => {
      expect(evalJsonPath(obj, path)).to.deep.equal(result);
    });
  }
});

describe('buildTable', () => {
  const kinds = KindRegistry.load();
  const now = Date.parse('2025-01-01T00:05:00Z');
  const inst: KubeObject = {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z', labels: { app: 'web' } },
    spec: { image: 'busybox', cpu: 1, memory: '256Mi' },
    status: {
      member: 'm1',
      phase: 'Running',
      addresses: ['10.0.0.2', '10.0.0.3'],
      privileged: false,
      idmap: { hostId: 1000000, size: 65536, isolated: false },
    },
  };

  it('puts Name first, renders Age, and keeps priority-1 columns', () => {
    const t = buildTable(kinds.resolve('instances'), [inst], { resourceVersion: '7', now });
    expect(t.columnDefinitions.map((c) => c.name)).to.deep.equal([
      'Name',
      'Member',
      'Phase',
      'Address',
      'Age',
      'Image',
      'CPU',
      'Memory',
      'Restarts',
      'Privileged',
      'IDMap',
    ]);
    expect(t.columnDefinitions[5]?.priority).to.equal(1);
    expect(t.rows[0]?.cells).to.deep.equal(['web', 'm1', 'Running', '10.0.0.2', '5m', 'busybox', 1, '256Mi', null, false, 1000000]);
    expect(t.metadata.resourceVersion).to.equal('7');
  });

  it('gives each row the full metadata as PartialObjectMetadata', () => {
    const t = buildTable(kinds.resolve('instances'), [inst], { now });
    expect(t.rows[0]?.object).to.deep.equal({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: inst.metadata });
  });

  it('gives each row the whole object with includeObject=Object', () => {
    const t = buildTable(kinds.resolve('instances'), [inst], { now, include: 'Object' });
    expect(t.rows[0]?.object).to.equal(inst);
  });

  it('joins array values with commas', () => {
    const member: KubeObject = {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Member',
      metadata: { name: 'm1' },
      spec: { roles: ['control-plane', 'worker'] },
    };
    const t = buildTable(kinds.resolve('members'), [member], { now });
    const col = t.columnDefinitions.findIndex((c) => c.name === 'Roles');
    expect(t.rows[0]?.cells[col]).to.equal('control-plane,worker');
  });
});
