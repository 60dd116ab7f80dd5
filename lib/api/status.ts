/**
 * Kubernetes Status objects: how every error (and a successful delete of
 * something that is not an object) is written to the wire.
 */
import { type CloudletError, ConflictError, HTTP_STATUS, KUBE_REASON, UnavailableError, ValidationError, asCloudletError, type FieldCause } from '../errors.js';
import type { KindInfo } from '../kinds/registry.js';

/** StatusDetails is the `details` of a Status. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: Array<{ reason?: string; message: string; field?: string }>;
  /** retryAfterSeconds: a transient refusal's suggested wait before the client tries again */
  retryAfterSeconds?: number;
}

/** Status is a meta/v1 Status object. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** StatusContext names the object a request was about, for `details`. */
export interface StatusContext {
  kind?: KindInfo;
  name?: string;
}

function causesOf(err: CloudletError): FieldCause[] {
  if (err instanceof ValidationError || err instanceof ConflictError) return err.causes;
  return [];
}

/** statusOf turns any thrown value into the HTTP code and Status body Kubernetes clients understand. */
export function statusOf(err: unknown, ctx: StatusContext = {}): Status {
  const e = asCloudletError(err);
  const code = HTTP_STATUS[e.code];
  const details: StatusDetails = {};
  if (ctx.name) details.name = ctx.name;
  if (ctx.kind) {
    details.group = ctx.kind.group;
    // Kubernetes names the Kind in Invalid errors and the resource everywhere else
    details.kind = e.code === 'Invalid' ? ctx.kind.kind : ctx.kind.plural;
  }
  const causes = causesOf(e);
  if (causes.length > 0) {
    details.causes = causes.map((c) => ({ reason: c.type ?? 'FieldValueInvalid', message: c.message, field: c.field }));
  }
  if (e instanceof UnavailableError && e.retryAfterSeconds !== undefined) details.retryAfterSeconds = e.retryAfterSeconds;
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: KUBE_REASON[e.code], code };
  if (Object.keys(details).length > 0) status.details = details;
  return status;
}

/** successStatus is the Status returned for a successful operation without an object to return. */
export function successStatus(ctx: StatusContext = {}): Status {
  const details: StatusDetails = {};
  if (ctx.name) details.name = ctx.name;
  if (ctx.kind) {
    details.group = ctx.kind.group;
    details.kind = ctx.kind.plural;
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: '', reason: '', details, code: 200 };
}

/** resourceName is `instances.cloudlet.dev` (or `events`), as Kubernetes names a resource in messages. */
export function resourceName(kind: KindInfo): string {
  return kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
}
