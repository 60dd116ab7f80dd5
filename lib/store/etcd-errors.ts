/**
 * The one place etcd client errors become Cloudlet errors: unreachable →
 * UnavailableError, compacted revision → GoneError, unknown lease →
 * NotFoundError, anything else → InternalError.
 */
import { ClientClosedError, EtcdLeaseInvalidError, GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { CloudletError, GoneError, InternalError, NotFoundError, UnavailableError, errorMessage } from '../errors.js';

/** translateEtcdError maps an error from the etcd3 client during `op` to a CloudletError. */
export function translateEtcdError(err: unknown, op: string): CloudletError {
  if (err instanceof CloudletError) return err;
  const message = errorMessage(err);
  if (message.includes('required revision has been compacted')) return new GoneError(`etcd ${op}: ${message}`, { cause: err });
  if (err instanceof EtcdLeaseInvalidError || message.includes('requested lease not found')) {
    return new NotFoundError(`lease not found or expired`, { cause: err });
  }
  const name = err instanceof Error ? err.constructor.name : '';
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof ClientClosedError ||
    name === 'BrokenCircuitError' ||
    /ECONNREFUSED|ECONNRESET|No connection established|UNAVAILABLE|DEADLINE_EXCEEDED/.test(message)
  ) {
    return new UnavailableError(`etcd ${op}: ${message}`, { cause: err });
  }
  return new InternalError(`etcd ${op}: ${message}`, { cause: err });
}
