/**
 * Translation of Kubernetes Status errors (what the API answers on failure)
 * into the error catalogue, done once here at the HTTP boundary. The Status
 * type and the reason table are the server's (lib/api/status.ts,
 * lib/errors.ts); the Status itself travels as the error's `cause` so the
 * CLI can print it the way kubectl does: `Error from server (Reason): message`.
 */
import { CODE_OF_HTTP_STATUS, CODE_OF_REASON, CloudletError, KUBE_REASON, errorOfCode, type FieldCause } from '../../lib/errors.js';
import { isStatus, type ReceivedStatus } from '../../lib/api/status.js';

/** ServerStatusCause wraps the Status a server answered with; it is the `cause` of errors made by statusError. */
export class ServerStatusCause {
  constructor(
    readonly status: ReceivedStatus,
    readonly httpCode: number,
  ) {}
}

/**
 * statusError turns an HTTP failure into a catalogue error. `body` is the
 * parsed response (a Status, or anything else when the server sent no
 * Status); `what` describes the request for generic messages. The reason
 * decides the error; without one, the HTTP status does.
 */
export function statusError(httpCode: number, body: unknown, what = 'request'): CloudletError {
  const byHttp = CODE_OF_HTTP_STATUS.get(httpCode);
  const status: ReceivedStatus = isStatus(body)
    ? body
    : {
        kind: 'Status',
        status: 'Failure',
        code: httpCode,
        reason: byHttp ? KUBE_REASON[byHttp] : 'Unknown',
        message: `the server responded with status ${httpCode} (${what})`,
      };
  const message = status.message ?? `the server responded with status ${httpCode}`;
  const causes: FieldCause[] = (status.details?.causes ?? []).map((c) => ({
    field: c.field ?? '',
    message: c.message ?? '',
    ...(c.reason !== undefined ? { type: c.reason } : {}),
  }));
  const code = (status.reason !== undefined ? CODE_OF_REASON.get(status.reason) : byHttp) ?? 'Internal';
  const after = status.details?.retryAfterSeconds;
  return errorOfCode(code, message, {
    cause: new ServerStatusCause(status, httpCode),
    causes,
    ...(typeof after === 'number' ? { retryAfterSeconds: after } : {}),
  });
}

/** serverStatusOf returns the Status a server answered with, when `err` came from statusError. */
export function serverStatusOf(err: unknown): ReceivedStatus | undefined {
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
