import { expect } from 'chai';
import { AlignedWriter, cellText, fallbackTable, formatTable, tableView } from '../../../../cli/output/table.js';
import type { ReceivedTable } from '../../../../lib/api/table.js';

const table: ReceivedTable = {
  kind: 'Table',
  columnDefinitions: [
    { name: 'Name', type: 'string', format: 'name', priority: 0 },
    { name: 'Phase', type: 'string', priority: 0 },
    { name: 'Age', type: 'date', priority: 0 },
    { name: 'Image', type: 'string', priority: 1 },
  ],
  rows: [
    { cells: ['web', 'Running', '5s', 'busybox'], object: { metadata: { name: 'web', namespace: 'default' } } },
    { cells: ['database-1', null, '2m', 'debian/bookworm'], object: { metadata: { name: 'database-1', namespace: 'prod' } } },
  ],
};

describe('tableView and formatTable', () => {
  it('prints priority-0 columns with upper-case headers and 3-space gutters', () => {
    expect(formatTable(tableView(table, { wide: false, withNamespace: false }))).to.deep.equal([
      'NAME         PHASE     AGE',
      'web          Running   5s',
      'database-1   <none>    2m',
    ]);
  });

  it('adds every column with -o wide', () => {
    expect(formatTable(tableView(table, { wide: true, withNamespace: false }))[0]).to.equal('NAME         PHASE     AGE   IMAGE');
  });

  it('puts NAMESPACE first from each row object with -A', () => {
    expect(formatTable(tableView(table, { wide: false, withNamespace: true }))).to.deep.equal([
      'NAMESPACE   NAME         PHASE     AGE',
      'default     web          Running   5s',
      'prod        database-1   <none>    2m',
    ]);
  });

  it("pads short columns to kubectl's minimum width", () => {
    expect(
      new AlignedWriter().lines([
        ['A', 'B'],
        ['x', 'y'],
      ]),
    ).to.deep.equal(['A     B', 'x     y']);
  });

  it('keeps column widths for rows printed later, as a watch needs', () => {
    const writer = new AlignedWriter();
    writer.lines([
      ['NAME', 'AGE'],
      ['averylongname', '1s'],
    ]);
    expect(writer.lines([['a', '2s']])).to.deep.equal(['a               2s']);
  });
});

describe('cellText', () => {
  it('renders missing values as <none> and numbers and booleans as text', () => {
    expect([cellText(undefined), cellText(null), cellText(2.5), cellText(false), cellText({ a: 1 })]).to.deep.equal([
      '<none>',
      '<none>',
      '2.5',
      'false',
      '{"a":1}',
    ]);
  });
});

describe('fallbackTable', () => {
  it('builds NAME and AGE from plain objects', () => {
    const now = Date.parse('2025-01-01T00:01:00Z');
    const t = fallbackTable([{ metadata: { name: 'a', creationTimestamp: '2025-01-01T00:00:00Z' } }], { now, resourceVersion: '7' });
    expect(formatTable(tableView(t, { wide: false, withNamespace: false }))).to.deep.equal(['NAME   AGE', 'a      60s']);
    expect(t.metadata?.resourceVersion).to.equal('7');
  });
});
