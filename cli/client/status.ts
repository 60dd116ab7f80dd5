/**
 * Translation of Kubernetes Status errors (what the API answers on failure)
 * into the error catalogue, done once here at the HTTP boundary. The Status
 * itself travels as the error's `cause` so the CLI can print it the way
 * kubectl does: `Error from server (Reason): message`.
 */
import {
  AlreadyExistsError,
  BadRequestError,
  CloudletError,
  ConflictError,
  GoneError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  TimeoutError,
  UnauthorizedError,
  UnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
  type FieldCause,
} from '../../lib/errors.js';

/** KubeStatus is the subset of a Kubernetes `Status` object the CLI reads. */
export interface KubeStatus {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<{ type?: string; message?: string; field?: string }>; retryAfterSeconds?: number };
}

/** ServerStatusCause wraps the Status a server answered with; it is the `cause` of errors made by statusError. */
export class ServerStatusCause {
  constructor(readonly status: KubeStatus, readonly httpCode: number) {}
}

/** isKubeStatus tells whether a parsed body is a Kubernetes Status object. */
export function isKubeStatus(body: unknown): body is KubeStatus {
  return typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'Status';
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/**
 * statusError turns an HTTP failure into a catalogue error. `body` is the
 * parsed response (a Status, or anything else when the server sent no
 * Status); `what` describes the request for generic messages.
 */
export function statusError(httpCode: number, body: unknown, what = 'request'): CloudletError {
  const status: KubeStatus = isKubeStatus(body)
    ? body
    : { kind: 'Status', status: 'Failure', code: httpCode, reason: REASON_BY_CODE[httpCode] ?? 'Unknown', message: `the server responded with status ${httpCode} (${what})` };
  const message = status.message ?? `the server responded with status ${httpCode}`;
  const options = { cause: new ServerStatusCause(status, httpCode) };
  const causes: FieldCause[] = (status.details?.causes ?? []).map((c) => ({
    field: c.field ?? '',
    message: c.message ?? '',
    ...(c.type !== undefined ? { type: c.type } : {}),
  }));
  switch (status.reason ?? REASON_BY_CODE[httpCode]) {
    case 'NotFound':
      return new NotFoundError(message, options);
    case 'AlreadyExists':
      return new AlreadyExistsError(message, options);
    case 'Conflict':
      return new ConflictError(message, { ...options, causes });
    case 'Expired':
    case 'Gone':
      return new GoneError(message, options);
    case 'Invalid':
      return new ValidationError(message, causes, options);
    case 'BadRequest':
      return new BadRequestError(message, options);
    case 'Unauthorized':
      return new UnauthorizedError(message, options);
    case 'UnsupportedMediaType':
      return new UnsupportedMediaTypeError(message, options);
    case 'MethodNotAllowed':
      return new MethodNotAllowedError(message, options);
    case 'Timeout':
      return new TimeoutError(message, options);
    case 'ServiceUnavailable': {
      const after = status.details?.retryAfterSeconds;
      return new UnavailableError(message, { ...options, ...(typeof after === 'number' ? { retryAfterSeconds: after } : {}) });
    }
    default:
      return new InternalError(message, options);
  }
}

/** serverStatusOf returns the Status a server answered with, when `err` came from statusError. */
export function serverStatusOf(err: unknown): KubeStatus | undefined {
  if (err instanceof CloudletError && err.cause instanceof ServerStatusCause) return err.cause.status;
  return undefined;
}

/**
 * formatCliError renders any error the way kubectl prints it: server errors as
 * `Error from server (Reason): message`, everything else as `error: message`;
 * `context` (e.g. which document) goes before the message.
 */
export function formatCliError(err: unknown, context?: string): string {
  const where = context ? `${context}: ` : '';
  const status = serverStatusOf(err);
  if (status) return `Error from server (${status.reason ?? 'Unknown'}): ${where}${status.message ?? ''}`;
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${where}${message}`;
}
