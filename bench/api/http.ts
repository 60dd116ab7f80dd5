/**
 * Plain-HTTP calls of bench/api: one request with a bearer token over a
 * keep-alive agent, and `must` to insist on a status.
 */
import { request, type Agent } from 'node:http';

/** HttpAnswer is a response's status and body text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** ApiTarget is where and as whom a call goes: the API's port, a keep-alive agent and a bearer token. */
export interface ApiTarget {
  port: number;
  agent: Agent;
  token: string;
}

/** httpCall sends one request (JSON body when given) to 127.0.0.1 and resolves with the whole answer. */
export function httpCall(target: ApiTarget, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        method,
        path,
        agent: target.agent,
        headers: {
          authorization: `Bearer ${target.token}`,
          'content-type': 'application/json',
          ...(data ? { 'content-length': data.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** must resolves when the answer has status `want` and throws with the body's start otherwise. */
export async function must(res: Promise<HttpAnswer>, want: number): Promise<void> {
  const r = await res;
  if (r.status !== want) throw new Error(`API answered ${r.status}, expected ${want}: ${r.text.slice(0, 300)}`);
}

/** createNamespaces creates each namespace (POST /api/v1/namespaces); one that exists already is fine. */
export async function createNamespaces(target: ApiTarget, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const r = await httpCall(target, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (r.status !== 201 && r.status !== 409)
      throw new Error(`creating namespace ${name}: API answered ${r.status}: ${r.text.slice(0, 300)}`);
  }
}
