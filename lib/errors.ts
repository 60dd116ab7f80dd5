/**
 * The one catalogue of Cloudlet errors. Every error thrown by our code is a
 * CloudletError with a stable `code`; library errors (etcd, child processes,
 * HTTP) are translated into these once, at the boundary where they appear.
 * The API layer maps `code` to an HTTP status and a Kubernetes Status reason
 * (see `httpStatusOf`), so nothing above the boundary parses messages.
 */

/** FieldCause names one offending field, as in a Kubernetes Status `details.causes[]` entry. */
export interface FieldCause {
  /** field path such as `spec.memory` or `metadata.name` */
  field: string;
  /** human sentence about what is wrong */
  message: string;
  /** Kubernetes cause type, e.g. FieldValueInvalid, FieldValueRequired, FieldValueNotSupported */
  type?: string;
}

/** CloudletErrorCode is the closed set of stable error codes. */
export const ERROR_CODES = [
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Gone',
  'Invalid',
  'BadRequest',
  'Unauthorized',
  'Forbidden',
  'NotSupported',
  'UnsupportedMediaType',
  'MethodNotAllowed',
  'RequestEntityTooLarge',
  'Terminal',
  'HostCommand',
  'Timeout',
  'Cancelled',
  'Unavailable',
  'Internal',
] as const;
export type CloudletErrorCode = (typeof ERROR_CODES)[number];

/** CloudletError is the base class: a stable `code`, a message, and the standard `cause`. */
export class CloudletError extends Error {
  readonly code: CloudletErrorCode;
  constructor(code: CloudletErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** NotFoundError: the named object (or host resource) does not exist. */
export class NotFoundError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NotFound', message, options);
  }
}

/** AlreadyExistsError: a create found the object already present. */
export class AlreadyExistsError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AlreadyExists', message, options);
  }
}

/** ConflictError: an update or delete named a resourceVersion that is no longer current. */
export class ConflictError extends CloudletError {
  /** causes: optional per-field conflicts (server-side apply field managers). */
  readonly causes: FieldCause[];
  constructor(message: string, options?: { cause?: unknown; causes?: FieldCause[] }) {
    super('Conflict', message, options);
    this.causes = options?.causes ?? [];
  }
}

/** GoneError: a watch asked for a revision that has been compacted away; the client must relist. */
export class GoneError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Gone', message, options);
  }
}

/** ValidationError: an object breaks its schema or a rule; `causes` names every bad field. */
export class ValidationError extends CloudletError {
  readonly causes: FieldCause[];
  constructor(message: string, causes: FieldCause[] = [], options?: { cause?: unknown }) {
    super('Invalid', message, options);
    this.causes = causes;
  }
}

/** BadRequestError: the request itself is malformed (bad JSON, bad query parameter, bad YAML). */
export class BadRequestError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BadRequest', message, options);
  }
}

/** UnauthorizedError: the request carried no valid bearer token. */
export class UnauthorizedError extends CloudletError {
  constructor(message = 'Unauthorized', options?: { cause?: unknown }) {
    super('Unauthorized', message, options);
  }
}

/** ForbiddenError: the caller may not do this (RBAC denies it, the namespace is terminating, a quota is exceeded). */
export class ForbiddenError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Forbidden', message, options);
  }
}

/** NotSupportedError: a driver or endpoint does not implement this verb (check capabilities first). */
export class NotSupportedError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NotSupported', message, options);
  }
}

/** UnsupportedMediaTypeError: the request body has a content type we do not accept. */
export class UnsupportedMediaTypeError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UnsupportedMediaType', message, options);
  }
}

/** MethodNotAllowedError: the HTTP method is not valid on this path. */
export class MethodNotAllowedError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MethodNotAllowed', message, options);
  }
}

/** RequestEntityTooLargeError: a body or object is over the size limit. */
export class RequestEntityTooLargeError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RequestEntityTooLarge', message, options);
  }
}

/** TerminalError: a reconcile failure that retrying cannot fix; the runner does not requeue it. */
export class TerminalError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Terminal', message, options);
  }
}

/** HostCommandError: a host command failed; carries argv, exit code or signal, and the stderr tail. */
export class HostCommandError extends CloudletError {
  readonly command: string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;
  constructor(opts: { command: string[]; exitCode: number | null; signal: string | null; stderr: string; cause?: unknown }) {
    const tail = opts.stderr.trim().split('\n').slice(-5).join('\n').slice(-2000);
    const how = opts.signal ? `killed by ${opts.signal}` : `exited with ${opts.exitCode}`;
    super('HostCommand', `${opts.command.join(' ')} ${how}${tail ? `: ${tail}` : ''}`, { cause: opts.cause });
    this.command = opts.command;
    this.exitCode = opts.exitCode;
    this.signal = opts.signal;
    this.stderrTail = tail;
  }
}

/** TimeoutError: an operation did not finish within its deadline. */
export class TimeoutError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Timeout', message, options);
  }
}

/** CancelledError: an operation was cancelled before it finished, because nobody wants its result any more. */
export class CancelledError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Cancelled', message, options);
  }
}

/**
 * UnavailableError: a dependency (etcd, a host service) cannot be reached or
 * cannot take the change right now; retry later. `retryAfterSeconds`, when
 * set, is the wait the thrower suggests (the API sends it as
 * `details.retryAfterSeconds` and a Retry-After header).
 */
export class UnavailableError extends CloudletError {
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super('Unavailable', message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** InternalError: a bug or an unexpected state; carries the original error as `cause`. */
export class InternalError extends CloudletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Internal', message, options);
  }
}

/** HTTP_STATUS maps each error code to the HTTP status the API answers with. */
export const HTTP_STATUS: Record<CloudletErrorCode, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Invalid: 422,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotSupported: 405,
  UnsupportedMediaType: 415,
  MethodNotAllowed: 405,
  RequestEntityTooLarge: 413,
  Terminal: 500,
  HostCommand: 500,
  Timeout: 504,
  Cancelled: 500,
  Unavailable: 503,
  Internal: 500,
};

/** KUBE_REASON maps each error code to the Kubernetes Status `reason` kubectl understands. */
export const KUBE_REASON: Record<CloudletErrorCode, string> = {
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Gone: 'Expired',
  Invalid: 'Invalid',
  BadRequest: 'BadRequest',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  NotSupported: 'MethodNotAllowed',
  UnsupportedMediaType: 'UnsupportedMediaType',
  MethodNotAllowed: 'MethodNotAllowed',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
  Terminal: 'InternalError',
  HostCommand: 'InternalError',
  Timeout: 'Timeout',
  Cancelled: 'InternalError',
  Unavailable: 'ServiceUnavailable',
  Internal: 'InternalError',
};

/** GENERIC_CODES win the inverse mappings over the more specific codes sharing their reason or status. */
const GENERIC_CODES: ReadonlySet<CloudletErrorCode> = new Set<CloudletErrorCode>(['Conflict', 'MethodNotAllowed', 'Internal']);

/**
 * CODE_OF_REASON is the inverse of KUBE_REASON, for clients decoding a
 * Status: where several codes share a reason, the generic code wins
 * (MethodNotAllowed, Internal). Kubernetes also sends `Gone` for 410.
 */
export const CODE_OF_REASON: ReadonlyMap<string, CloudletErrorCode> = inverse(KUBE_REASON, { Gone: 'Gone' });

/**
 * CODE_OF_HTTP_STATUS is the inverse of HTTP_STATUS, for a failure whose body
 * is no Status: where several codes share a status, the generic code wins
 * (409 Conflict, 405 MethodNotAllowed, 500 Internal).
 */
export const CODE_OF_HTTP_STATUS: ReadonlyMap<number, CloudletErrorCode> = inverse(HTTP_STATUS, {});

function inverse<V extends string | number>(
  table: Record<CloudletErrorCode, V>,
  extra: Partial<Record<V, CloudletErrorCode>>,
): Map<V, CloudletErrorCode> {
  const out = new Map<V, CloudletErrorCode>();
  for (const code of ERROR_CODES) {
    const value = table[code];
    if (!out.has(value) || GENERIC_CODES.has(code)) out.set(value, code);
  }
  for (const [value, code] of Object.entries(extra) as Array<[V, CloudletErrorCode]>) out.set(value, code);
  return out;
}

/** WireErrorOptions is what a decoded Status carries besides its message. */
export interface WireErrorOptions {
  cause?: unknown;
  causes?: FieldCause[];
  retryAfterSeconds?: number;
}

/**
 * errorOfCode builds the catalogue error for `code` from what travels on the
 * wire (message, field causes, retry-after). HostCommand and Terminal carry
 * host details that never travel, so they come back as InternalError.
 */
export function errorOfCode(code: CloudletErrorCode, message: string, opts: WireErrorOptions = {}): CloudletError {
  const options = { cause: opts.cause };
  switch (code) {
    case 'NotFound':
      return new NotFoundError(message, options);
    case 'AlreadyExists':
      return new AlreadyExistsError(message, options);
    case 'Conflict':
      return new ConflictError(message, { ...options, causes: opts.causes ?? [] });
    case 'Gone':
      return new GoneError(message, options);
    case 'Invalid':
      return new ValidationError(message, opts.causes ?? [], options);
    case 'BadRequest':
      return new BadRequestError(message, options);
    case 'Unauthorized':
      return new UnauthorizedError(message, options);
    case 'Forbidden':
      return new ForbiddenError(message, options);
    case 'NotSupported':
      return new NotSupportedError(message, options);
    case 'UnsupportedMediaType':
      return new UnsupportedMediaTypeError(message, options);
    case 'MethodNotAllowed':
      return new MethodNotAllowedError(message, options);
    case 'RequestEntityTooLarge':
      return new RequestEntityTooLargeError(message, options);
    case 'Timeout':
      return new TimeoutError(message, options);
    case 'Cancelled':
      return new CancelledError(message, options);
    case 'Unavailable':
      return new UnavailableError(message, {
        ...options,
        ...(opts.retryAfterSeconds !== undefined ? { retryAfterSeconds: opts.retryAfterSeconds } : {}),
      });
    case 'Terminal':
    case 'HostCommand':
    case 'Internal':
      return new InternalError(message, options);
  }
}

/** asCloudletError returns `err` if it is already ours, else wraps it in an InternalError. */
export function asCloudletError(err: unknown): CloudletError {
  if (err instanceof CloudletError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(message, { cause: err });
}

/** isCode tells whether `err` is a CloudletError with the given code. */
export function isCode(err: unknown, code: CloudletErrorCode): boolean {
  return err instanceof CloudletError && err.code === code;
}

/** errorMessage gives a printable message for any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
