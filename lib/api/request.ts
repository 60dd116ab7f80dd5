/**
 * Request helpers shared by the handlers: JSON responses, content
 * negotiation and the common query parameters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError } from '../errors.js';
import type { FieldValidation } from './schema.js';
import type { IncludeObject } from './table.js';

/** sendJson writes `body` as JSON with `code`; extra headers are added. */
export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** wantsTable tells whether the Accept header asks for a meta.k8s.io Table (`kubectl get`). */
export function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('as=Table') && accept.includes('g=meta.k8s.io');
}

/** mediaType is the Content-Type without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** WriteParams are the query parameters every write accepts. */
export interface WriteParams {
  dryRun: boolean;
  fieldValidation: FieldValidation;
  fieldManager: string;
  force: boolean;
}

/** writeParams reads dryRun, fieldValidation, fieldManager (default: the User-Agent's program name) and force. */
export function writeParams(req: IncomingMessage, query: URLSearchParams): WriteParams {
  const dry = query.getAll('dryRun');
  if (dry.some((d) => d !== 'All')) throw new BadRequestError(`dryRun must be All, not ${JSON.stringify(dry)}`);
  const fv = query.get('fieldValidation') ?? 'Strict';
  if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
    throw new BadRequestError(`fieldValidation must be one of Strict, Warn or Ignore, not "${fv}"`);
  }
  const ua = req.headers['user-agent'] ?? '';
  const manager = query.get('fieldManager') ?? (ua.split('/')[0] || 'unknown');
  const force = query.get('force');
  if (force !== null && force !== 'true' && force !== 'false') throw new BadRequestError(`force must be true or false, not "${force}"`);
  return { dryRun: dry.length > 0, fieldValidation: fv, fieldManager: manager.slice(0, 128), force: force === 'true' };
}

/** includeObjectParam reads `includeObject` (None, Metadata or Object; Metadata by default). */
export function includeObjectParam(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Metadata' && v !== 'Object')
    throw new BadRequestError(`includeObject must be None, Metadata or Object, not "${v}"`);
  return v;
}
