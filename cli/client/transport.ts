/**
 * Transport failures: the API client marks the errors it raises because no
 * answer came from the server (connection refused, unreachable, timed out),
 * so commands can tell "the server said no" from "the server did not answer"
 * without parsing messages. Kept apart from api-client.ts, which loads
 * @kubernetes/client-node, so commands can ask cheaply.
 */

const failures = new WeakSet<object>();

/** markTransportFailure records `err` as a failure to reach the server and returns it. */
export function markTransportFailure<E extends Error>(err: E): E {
  failures.add(err);
  return err;
}

/** isTransportFailure is true for an error the client raised because no answer came from the server. */
export function isTransportFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && failures.has(err);
}
