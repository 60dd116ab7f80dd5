/**
 * etcd health over its client URL: GET /health answers {"health":"true"}.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { EtcdTlsFiles } from './args.js';
import { isJsonMap } from '../json.js';

/** checkEtcdHealth resolves true when `${clientUrl}/health` says healthy within `timeoutMs`; never throws. */
export function checkEtcdHealth(clientUrl: string, opts: { tls?: EtcdTlsFiles; timeoutMs?: number } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL('/health', clientUrl);
    } catch {
      resolve(false);
      return;
    }
    const timeout = opts.timeoutMs ?? 2000;
    const done = (ok: boolean): void => resolve(ok);
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          const parsed: unknown = JSON.parse(body);
          done(res.statusCode === 200 && isJsonMap(parsed) && parsed.health === 'true');
        } catch {
          done(false);
        }
      });
      res.on('error', () => done(false));
    };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(
            url,
            {
              timeout,
              ca: opts.tls ? readFileSync(opts.tls.trustedCaFile) : undefined,
              cert: opts.tls ? readFileSync(opts.tls.certFile) : undefined,
              key: opts.tls ? readFileSync(opts.tls.keyFile) : undefined,
            },
            onResponse,
          )
        : httpRequest(url, { timeout }, onResponse);
    req.on('timeout', () => req.destroy(new Error('health check timed out')));
    req.on('error', () => done(false));
    req.end();
  });
}
