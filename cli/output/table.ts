/**
 * Table output like kubectl's: the server renders a Kubernetes Table
 * (meta.k8s.io/v1), the CLI picks the columns (priority 0, or all with
 * `-o wide`; NAMESPACE first with `-A`), upper-cases the headers and aligns
 * the cells the way kubectl's tabwriter does (3-space gutter, 6-character
 * minimum cell, last column unpadded).
 */
import { formatAge, type ReceivedTable } from '../../lib/api/table.js';
import { isJsonMap } from '../../lib/json.js';

/** TableView is a table reduced to what gets printed: header cells and row cells, all text. */
export interface TableView {
  header: string[];
  rows: string[][];
}

/** cellText renders one cell: `<none>` for a missing value, JSON for structures. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '<none>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** tableView selects and renders the columns of `table`; `withNamespace` adds NAMESPACE from each row's object. */
export function tableView(table: ReceivedTable, opts: { wide: boolean; withNamespace: boolean }): TableView {
  const picked = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || (c.priority ?? 0) === 0);
  const header = picked.map(({ c }) => c.name.toUpperCase());
  const rows = table.rows.map((row) => picked.map(({ i }) => cellText(row.cells[i])));
  if (opts.withNamespace) {
    header.unshift('NAMESPACE');
    table.rows.forEach((row, r) => rows[r]?.unshift(namespaceOf(row.object)));
  }
  return { header, rows };
}

function namespaceOf(object: unknown): string {
  const meta = isJsonMap(object) ? object.metadata : undefined;
  return isJsonMap(meta) && typeof meta.namespace === 'string' ? meta.namespace : '';
}

/** ObjectLike is any object with metadata, for building a table when the server sent no Table. */
export type ObjectLike = {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string; resourceVersion?: string };
} & Record<string, unknown>;

/** fallbackTable builds a NAME/AGE Table from plain objects (a server that answers a Table request with a List). */
export function fallbackTable(objects: ObjectLike[], opts: { now: number; resourceVersion?: string }): ReceivedTable {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', priority: 0 },
      { name: 'Age', type: 'date', priority: 0 },
    ],
    rows: objects.map((o) => {
      const created = o.metadata?.creationTimestamp ? Date.parse(o.metadata.creationTimestamp) : NaN;
      return { cells: [o.metadata?.name ?? '', Number.isNaN(created) ? '<unknown>' : formatAge(opts.now - created)], object: o };
    }),
  };
}

/**
 * AlignedWriter aligns rows into columns. It remembers column widths between
 * calls (like kubectl's tabwriter with RememberWidths), so the rows a watch
 * prints later line up under the header printed first.
 */
export class AlignedWriter {
  private widths: number[] = [];

  constructor(private readonly opts: { gutter: number; minWidth: number } = { gutter: 3, minWidth: 6 }) {}

  /** lines renders `rows` (the header is just the first row) to text lines without trailing spaces. */
  lines(rows: string[][]): string[] {
    for (const row of rows) {
      row.forEach((cell, i) => {
        if (i === row.length - 1) return;
        const w = Math.max(cell.length + this.opts.gutter, this.opts.minWidth);
        if (w > (this.widths[i] ?? 0)) this.widths[i] = w;
      });
    }
    return rows.map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(this.widths[i] ?? 0)))
        .join('')
        .trimEnd(),
    );
  }
}

/** formatTable renders a whole table (header and rows) with kubectl's alignment. */
export function formatTable(view: TableView, writer: AlignedWriter = new AlignedWriter()): string[] {
  return writer.lines([view.header, ...view.rows]);
}
