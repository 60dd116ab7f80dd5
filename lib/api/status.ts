/**
 * Kubernetes Status objects: how every error (and a successful delete of
 * something that is not an object) is written to the wire.
 */
import {
  type CloudletError,
  ConflictError,
  HTTP_STATUS,
  KUBE_REASON,
  UnavailableError,
  TooManyRequestsError,
  ValidationError,
  asCloudletError,
  type FieldCause,
} from '../errors.js';
import { isJsonMap } from '../json.js';
import type { KindInfo } from '../kinds/registry.js';

/** StatusCause is one `details.causes[]` entry; Kubernetes spells the cause type `reason` (FieldValueInvalid, …). */
export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

/** StatusDetails is the `details` of a Status. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
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

/**
 * ReceivedStatus is a Status as a client reads it from any server: `kind`
 * is certain, every other field may be missing.
 */
export type ReceivedStatus = { kind: 'Status' } & Partial<Omit<Status, 'kind' | 'details'>> & {
    details?: Partial<Omit<StatusDetails, 'causes'>> & { causes?: Array<Partial<StatusCause>> };
  };

/** isStatus tells whether a parsed body is a Kubernetes Status object. */
export function isStatus(body: unknown): body is ReceivedStatus {
  return isJsonMap(body) && body.kind === 'Status';
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
  if ((e instanceof UnavailableError || e instanceof TooManyRequestsError) && e.retryAfterSeconds !== undefined)
    details.retryAfterSeconds = e.retryAfterSeconds;
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: KUBE_REASON[e.code],
    code,
  };
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
