/**
 * Audit events in the shape of Kubernetes' audit.k8s.io/v1 Event (level
 * Metadata, stage ResponseComplete), and the policy of which requests are
 * recorded. Pure: the writer is lib/audit/audit-log.ts.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** AuditUser is the user of an audit event; empty when authentication failed. */
export interface AuditUser {
  username?: string;
  groups?: string[];
}

/** AuditObjectRef names the object a resource request was about. */
export interface AuditObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  subresource?: string;
}

/** AuditResponseStatus is the outcome: the HTTP code and, for a failure, the Status fields. */
export interface AuditResponseStatus {
  metadata: Record<string, never>;
  code: number;
  status?: 'Success' | 'Failure';
  reason?: string;
  message?: string;
}

/** AuditEvent is one line of the audit log (audit.k8s.io/v1 Event). */
export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: 'Metadata';
  auditID: string;
  stage: 'ResponseComplete';
  requestURI: string;
  verb: string;
  user: AuditUser;
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: AuditObjectRef;
  responseStatus: AuditResponseStatus;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations: Record<string, string>;
}

/** DECISION_ANNOTATION, REASON_ANNOTATION and LATENCY_ANNOTATION are the annotation keys an event carries. */
export const DECISION_ANNOTATION = 'authorization.k8s.io/decision';
/** REASON_ANNOTATION holds the authorizer's reason. */
export const REASON_ANNOTATION = 'authorization.k8s.io/reason';
/** LATENCY_ANNOTATION holds the time from receipt to response, e.g. "12.3ms". */
export const LATENCY_ANNOTATION = 'cloudlet.dev/latency';

/** AuditRecord is what the API knows of a finished request; buildAuditEvent makes the event from it. */
export interface AuditRecord {
  /** the Audit-ID request header when the client sent one; a fresh UUID otherwise */
  auditID?: string;
  requestURI: string;
  /** the Kubernetes verb (get, list, watch, create, …), or the lower-case HTTP method of a non-resource request */
  verb: string;
  /** the authenticated user; undefined when authentication failed */
  user?: { name: string; groups: string[] };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: AuditObjectRef;
  code: number;
  /** the Status reason and message of a failure (Forbidden, NotFound, …) */
  reason?: string;
  message?: string;
  /** when the request was received, in microseconds since the epoch (nowMicros()) */
  receivedMicros: number;
  /** when the response completed; now when left out */
  completedMicros?: number;
  /** the authorization decision, when authorization ran */
  decision?: 'allow' | 'forbid';
  authorizationReason?: string;
}

/** MUTATING_VERBS are the verbs (Kubernetes ones, and HTTP methods of non-resource requests) that change state. */
export const MUTATING_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', 'post', 'put']);

/** REFUSAL_CODES are always recorded: not authenticated, forbidden, throttled. */
export const REFUSAL_CODES: ReadonlySet<number> = new Set([401, 403, 429]);

/**
 * policy decides whether a request is recorded: every mutating request
 * whatever its outcome (4xx and 5xx included), and every refusal (401, 403,
 * 429) of any verb. Reads (get, list, watch) that are not refused are not
 * recorded, failed or not.
 */
export function policy(request: { verb: string; code: number }): boolean {
  return REFUSAL_CODES.has(request.code) || MUTATING_VERBS.has(request.verb);
}

/** nowMicros is the current time in microseconds since the epoch (sub-millisecond from the monotonic clock). */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** microTime formats microseconds since the epoch as Kubernetes' MicroTime: RFC 3339, UTC, six fractional digits. */
export function microTime(micros: number): string {
  const us = Math.floor(micros);
  const seconds = Math.floor(us / 1e6);
  const iso = new Date(seconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}.${String(us - seconds * 1e6).padStart(6, '0')}Z`;
}

/** formatLatency renders a duration in microseconds as the API logs it: "850µs", "12.3ms", "2.5s". */
export function formatLatency(micros: number): string {
  if (micros < 1000) return `${Math.max(0, Math.round(micros))}µs`;
  if (micros < 1e6) return `${(micros / 1000).toFixed(1)}ms`;
  return `${(micros / 1e6).toFixed(1)}s`;
}

/** buildAuditEvent makes the audit event of a finished request. */
export function buildAuditEvent(r: AuditRecord, newID: () => string = randomUUID): AuditEvent {
  const completed = r.completedMicros ?? nowMicros();
  const ok = r.code < 400;
  const responseStatus: AuditResponseStatus = { metadata: {}, code: r.code };
  if (!ok) {
    responseStatus.status = 'Failure';
    if (r.reason) responseStatus.reason = r.reason;
    if (r.message) responseStatus.message = r.message;
  }
  const annotations: Record<string, string> = {};
  if (r.decision) annotations[DECISION_ANNOTATION] = r.decision;
  if (r.authorizationReason) annotations[REASON_ANNOTATION] = r.authorizationReason;
  annotations[LATENCY_ANNOTATION] = formatLatency(completed - r.receivedMicros);
  const event: AuditEvent = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: r.auditID || newID(),
    stage: 'ResponseComplete',
    requestURI: r.requestURI,
    verb: r.verb,
    user: r.user ? { username: r.user.name, groups: [...r.user.groups] } : {},
    sourceIPs: [...r.sourceIPs],
    responseStatus,
    requestReceivedTimestamp: microTime(r.receivedMicros),
    stageTimestamp: microTime(completed),
    annotations,
  };
  if (r.userAgent) event.userAgent = r.userAgent;
  if (r.objectRef) event.objectRef = dropEmpty(r.objectRef);
  return event;
}

function dropEmpty(ref: AuditObjectRef): AuditObjectRef {
  const out: AuditObjectRef = {};
  for (const [k, v] of Object.entries(ref) as Array<[keyof AuditObjectRef, string | undefined]>) if (v) out[k] = v;
  return out;
}
