/**
 * Reading request bodies: a size limit (413 beyond it) and JSON parsing
 * whose errors name the problem and its position (400).
 */
import type { IncomingMessage } from 'node:http';
import { BadRequestError, RequestEntityTooLargeError } from '../errors.js';
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from './protobuf.js';
import { findKey } from '../json.js';

const PROTO: ReadonlySet<string> = new Set(['__proto__']);

/** MAX_BODY_BYTES is the largest request body accepted (3 MiB, like Kubernetes). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** readBody collects the request body as text; RequestEntityTooLargeError beyond `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return (await readBodyBytes(req, limit)).toString('utf8');
}

/** readBodyBytes collects the request body; RequestEntityTooLargeError beyond `limit` bytes. */
export function readBodyBytes(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      reject(new RequestEntityTooLargeError(`the request body is ${declared} bytes, more than the limit of ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new RequestEntityTooLargeError(`the request body is more than the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(new BadRequestError(`cannot read the request body: ${err.message}`, { cause: err }));
    });
  });
}

/**
 * parseJson parses a JSON body; BadRequestError naming the problem and where
 * it is, and for a body holding a `__proto__` key at any depth.
 */
export function parseJson(text: string): unknown {
  if (text.trim() === '') throw new BadRequestError('the request body is empty; a JSON document is required');
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /position (\d+)/.exec(msg);
    let where = '';
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      where = ` (line ${line}, column ${col})`;
    }
    throw new BadRequestError(`error decoding the request body as JSON: ${msg}${where}`, { cause: err });
  }
  // JSON.parse makes "__proto__" an own key, but any later assignment or merge of it sets a prototype instead.
  const at = findKey(doc, PROTO);
  if (at !== undefined) throw new BadRequestError(`the request body sets the field "${at}": the key "__proto__" is not allowed`);
  return doc;
}

/**
 * readObjectBody reads a request body that carries an object: JSON, or
 * Kubernetes protobuf for the built-in kinds kubectl's typed clients send
 * that way (lib/api/protobuf.ts).
 */
export async function readObjectBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const bytes = await readBodyBytes(req, limit);
  if (type === PROTOBUF_MEDIA_TYPE) return decodeKubernetesProtobuf(bytes);
  return parseJson(bytes.toString('utf8'));
}
