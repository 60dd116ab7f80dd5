import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { MAX_BODY_BYTES, parseJson, readBody } from '../../../../lib/api/body.js';
import { BadRequestError, HTTP_STATUS, RequestEntityTooLargeError } from '../../../../lib/errors.js';

/** a request whose body is `chunks`, sent with or without a Content-Length header */
function request(chunks: string[], opts: { declare?: number } = {}): IncomingMessage {
  const s = new PassThrough();
  const headers: Record<string, string> = {};
  if (opts.declare !== undefined) headers['content-length'] = String(opts.declare);
  Object.assign(s, { headers });
  setImmediate(() => {
    for (const c of chunks) s.write(c);
    s.end();
  });
  return s as unknown as IncomingMessage;
}

describe('readBody', () => {
  it('reads a body within the limit', async () => {
    expect(await readBody(request(['{"a":', '1}']), 16)).to.equal('{"a":1}');
  });

  it('refuses a declared Content-Length over the limit before reading, naming the limit', async () => {
    const err = await readBody(request(['x'], { declare: 2048 }), 1024).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RequestEntityTooLargeError);
    expect((err as Error).message).to.include('limit of 1024 bytes');
  });

  it('refuses a streamed body that grows past the limit without a Content-Length', async () => {
    const err = await readBody(request(['x'.repeat(600), 'y'.repeat(600)]), 1024).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RequestEntityTooLargeError);
    expect((err as Error).message).to.include('limit of 1024 bytes');
  });

  it('answers 413 for a body over the limit, which is 3 MiB by default', () => {
    expect(HTTP_STATUS.RequestEntityTooLarge).to.equal(413);
    expect(MAX_BODY_BYTES).to.equal(3 * 1024 * 1024);
  });
});

describe('parseJson', () => {
  it('refuses a syntax error with a BadRequestError', () => {
    expect(() => parseJson('{\n  "a": }')).to.throw(BadRequestError, /error decoding the request body as JSON/);
  });

  for (const body of [
    '{"__proto__": {"polluted": "yes"}}',
    '{"spec": {"list": [{"__proto__": {"polluted": "yes"}}]}}',
    '{"spec": {"__pro\\u0074o__": {"polluted": "yes"}}}',
  ]) {
    it(`refuses a body holding a __proto__ key: ${body}`, () => {
      expect(() => parseJson(body)).to.throw(BadRequestError, /the key "__proto__" is not allowed/);
      expect((Object.prototype as Record<string, unknown>).polluted).to.equal(undefined);
    });
  }

  it('names where the __proto__ key is', () => {
    expect(() => parseJson('{"spec": {"list": [1, {"__proto__": {}}]}}')).to.throw(BadRequestError, /"\.spec\.list\[1\]\.__proto__"/);
  });

  it('accepts ordinary keys named constructor or prototype in an object body', () => {
    expect(parseJson('{"spec": {"constructor": 1, "prototype": 2}}')).to.deep.equal({ spec: { constructor: 1, prototype: 2 } });
  });
});
