/**
 * `cloudlet describe` output: a readable page about one object in the shape
 * kubectl uses — header fields, Spec and Status as indented YAML, a
 * Conditions table and the object's Events.
 */
import { stringify } from 'yaml';
import { formatAge } from '../../lib/api/table.js';
import { LAST_APPLIED_ANNOTATION } from '../apply/merge-patch.js';
import { isJsonMap, type JsonMap } from '../../lib/json.js';
import { AlignedWriter } from './table.js';

/** EventLike is the part of a core v1 Event that describe prints. */
export interface EventLike {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  metadata?: { creationTimestamp?: string };
}

const LABEL_WIDTH = 14;

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(LABEL_WIDTH)}${value}`;
}

/** pairs renders a string map one `key=value` per line, aligned under the first; `<none>` when empty. */
function pairs(label: string, map: unknown, skip: string[] = []): string[] {
  const entries = isJsonMap(map) ? Object.entries(map).filter(([k]) => !skip.includes(k)) : [];
  if (entries.length === 0) return [field(label, '<none>')];
  return entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v], i) => {
      const text = `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
      return i === 0 ? field(label, text) : `${' '.repeat(LABEL_WIDTH)}${text}`;
    });
}

/** yamlBlock renders a value as YAML indented by two spaces under `label:`. */
function yamlBlock(label: string, value: unknown): string[] {
  if (value === undefined || (isJsonMap(value) && Object.keys(value).length === 0)) return [`${label}:  <none>`];
  if (!isJsonMap(value) && !Array.isArray(value)) return [field(label, String(value))];
  const text = stringify(value, { lineWidth: 0 }).trimEnd();
  return [`${label}:`, ...text.split('\n').map((l) => `  ${l}`)];
}

function eventTime(e: EventLike): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

function eventAge(e: EventLike, now: number): string {
  const last = eventTime(e);
  if (last === 0) return '<unknown>';
  const age = formatAge(now - last);
  const firstMs = e.firstTimestamp ? Date.parse(e.firstTimestamp) : NaN;
  if ((e.count ?? 1) > 1 && !Number.isNaN(firstMs)) return `${age} (x${e.count} over ${formatAge(now - firstMs)})`;
  return age;
}

/** conditionsLines renders `status.conditions[]` as a table, or nothing when there are none. */
export function conditionsLines(conditions: unknown): string[] {
  if (!Array.isArray(conditions) || conditions.length === 0) return [];
  const rows = conditions.filter(isJsonMap).map((c) =>
    ['Type', 'Status', 'Reason', 'Message', 'LastTransitionTime'].map((k) => {
      const key = k.charAt(0).toLowerCase() + k.slice(1);
      const v = c[key];
      return v === undefined || v === null ? '' : String(v);
    }),
  );
  const header = ['Type', 'Status', 'Reason', 'Message', 'LastTransitionTime'];
  const rule = header.map((h) => '-'.repeat(h.length));
  return ['Conditions:', ...new AlignedWriter({ gutter: 2, minWidth: 0 }).lines([header, rule, ...rows]).map((l) => `  ${l}`)];
}

/** eventsLines renders events oldest first as kubectl does, or `Events:  <none>`. */
export function eventsLines(events: EventLike[], now: number): string[] {
  if (events.length === 0) return ['Events:  <none>'];
  const sorted = [...events].sort((a, b) => eventTime(a) - eventTime(b));
  const header = ['Type', 'Reason', 'Age', 'From', 'Message'];
  const rule = header.map((h) => '-'.repeat(h.length));
  const rows = sorted.map((e) => [
    e.type ?? '',
    e.reason ?? '',
    eventAge(e, now),
    e.source?.component || e.reportingComponent || '',
    (e.message ?? '').replace(/\s*\n\s*/g, ' '),
  ]);
  return ['Events:', ...new AlignedWriter({ gutter: 2, minWidth: 0 }).lines([header, rule, ...rows]).map((l) => `  ${l}`)];
}

/** describeObject renders one object and its events; `now` is injected so output is testable. */
export function describeObject(opts: { object: JsonMap; events: EventLike[]; now: number }): string {
  const obj = opts.object;
  const meta = isJsonMap(obj.metadata) ? obj.metadata : {};
  const lines: string[] = [field('Name', String(meta.name ?? ''))];
  if (meta.namespace !== undefined) lines.push(field('Namespace', String(meta.namespace)));
  lines.push(...pairs('Labels', meta.labels));
  lines.push(...pairs('Annotations', meta.annotations, [LAST_APPLIED_ANNOTATION]));
  lines.push(field('API Version', String(obj.apiVersion ?? '')));
  lines.push(field('Kind', String(obj.kind ?? '')));
  if (meta.creationTimestamp) lines.push(field('Created', String(meta.creationTimestamp)));
  if (meta.uid) lines.push(field('UID', String(meta.uid)));
  if (meta.resourceVersion) lines.push(field('Version', `${String(meta.resourceVersion)} (generation ${String(meta.generation ?? 0)})`));
  if (Array.isArray(meta.finalizers) && meta.finalizers.length > 0) lines.push(field('Finalizers', meta.finalizers.map(String).join(', ')));
  if (meta.deletionTimestamp) lines.push(field('Deleting', `since ${String(meta.deletionTimestamp)}`));
  if (Array.isArray(meta.ownerReferences) && meta.ownerReferences.length > 0) {
    const owners = meta.ownerReferences.filter(isJsonMap).map((o) => `${String(o.kind)}/${String(o.name)}`);
    lines.push(field('Owners', owners.join(', ')));
  }
  for (const [key, value] of Object.entries(obj)) {
    if (['apiVersion', 'kind', 'metadata', 'status'].includes(key)) continue;
    lines.push(...yamlBlock(key.charAt(0).toUpperCase() + key.slice(1), value));
  }
  const status = isJsonMap(obj.status) ? { ...obj.status } : undefined;
  const conditions = status?.conditions;
  if (status) delete status.conditions;
  if (status !== undefined) lines.push(...yamlBlock('Status', status));
  lines.push(...conditionsLines(conditions));
  lines.push(...eventsLines(opts.events, opts.now));
  return `${lines.join('\n')}\n`;
}
