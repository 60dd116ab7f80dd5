/**
 * The body of an HTTP response as text, for the few plain clients outside
 * the API client (the join client, tests): one place that collects it.
 */
import type { IncomingMessage } from 'node:http';

/** readText collects `res`'s body as UTF-8 text with its status code (0 when absent); rejects when the response errors. */
export function readText(res: IncomingMessage): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    res.on('error', reject);
  });
}
