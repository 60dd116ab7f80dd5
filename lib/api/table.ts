/**
 * Server-side Table rendering (`kubectl get` asks for `as=Table`): columns
 * from the kind's printer columns, Name first, Age rendered like kubectl.
 */
import type { KindInfo, PrinterColumn } from '../kinds/registry.js';
import type { KubeObject } from '../store/types.js';
import { evalJsonPath } from './jsonpath.js';
import { isJsonMap } from '../json.js';

/** TableColumn is one `columnDefinitions` entry. */
export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** TableRow is one row: cells in column order and the object (metadata only unless asked). */
export interface TableRow {
  cells: unknown[];
  object: Record<string, unknown>;
}

/** Table is a meta.k8s.io/v1 Table. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

/**
 * ReceivedTable is a Table as a client reads it from any server: columns
 * need only a name and rows only their cells.
 */
export interface ReceivedTable {
  kind: 'Table';
  apiVersion?: string;
  metadata?: { resourceVersion?: string };
  columnDefinitions: Array<Pick<TableColumn, 'name'> & Partial<TableColumn>>;
  rows: Array<Pick<TableRow, 'cells'> & Partial<TableRow>>;
}

/** isTable tells whether a response body is a Table (kind, columns and rows). */
export function isTable(v: unknown): v is ReceivedTable {
  return isJsonMap(v) && v.kind === 'Table' && Array.isArray(v.columnDefinitions) && Array.isArray(v.rows);
}

/** IncludeObject is the `includeObject` query parameter: what each row's `object` holds. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** formatAge renders a duration like kubectl's HumanDuration (`5s`, `3m12s`, `5h3m`, `2d`, `3y`). */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

/** tableColumns gives the column definitions of `kind`: Name, then its printer columns (Age included). */
export function tableColumns(kind: KindInfo): TableColumn[] {
  const cols: TableColumn[] = [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  ];
  let hasAge = false;
  for (const c of kind.printerColumns) {
    if (c.jsonPath === '.metadata.creationTimestamp') hasAge = true;
    cols.push({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 });
  }
  if (!hasAge) cols.push({ name: 'Age', type: 'date', format: '', description: 'Time since creation.', priority: 0 });
  return cols;
}

function cell(col: PrinterColumn, obj: KubeObject, now: number): unknown {
  const values = evalJsonPath(obj, col.jsonPath);
  if (values.length === 0) return null;
  if (col.type === 'date') {
    const t = typeof values[0] === 'string' ? Date.parse(values[0]) : NaN;
    return Number.isNaN(t) ? '<unknown>' : formatAge(now - t);
  }
  if (values.length === 1 && !Array.isArray(values[0]) && (typeof values[0] !== 'object' || values[0] === null)) {
    const v = values[0];
    if (col.type === 'string' && typeof v !== 'string') return String(v);
    return v;
  }
  const flat = values.flatMap((v) => (Array.isArray(v) ? v : [v]));
  return flat.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(',');
}

/** tableRow renders one object as a row; `include` decides what `row.object` holds. */
export function tableRow(kind: KindInfo, obj: KubeObject, opts: { now?: number; include?: IncludeObject } = {}): TableRow {
  const now = opts.now ?? Date.now();
  const cells: unknown[] = [obj.metadata.name];
  let hasAge = false;
  for (const c of kind.printerColumns) {
    if (c.jsonPath === '.metadata.creationTimestamp') hasAge = true;
    cells.push(cell(c, obj, now));
  }
  if (!hasAge) cells.push(cell({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }, obj, now));
  const include = opts.include ?? 'Metadata';
  const object: Record<string, unknown> =
    include === 'Object'
      ? obj
      : include === 'None'
        ? {}
        : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  return { cells, object };
}

/** buildTable renders `items` as a Table at `resourceVersion`. */
export function buildTable(
  kind: KindInfo,
  items: readonly KubeObject[],
  opts: { resourceVersion?: string; now?: number; include?: IncludeObject } = {},
): Table {
  const now = opts.now ?? Date.now();
  const metadata: { resourceVersion?: string } = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: tableColumns(kind),
    rows: items.map((o) => tableRow(kind, o, { now, include: opts.include ?? 'Metadata' })),
  };
}
