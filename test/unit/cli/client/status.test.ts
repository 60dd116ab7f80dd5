import { expect } from 'chai';
import {
  ConflictError,
  ERROR_CODES,
  GoneError,
  HTTP_STATUS,
  NotFoundError,
  UnavailableError,
  ValidationError,
  errorOfCode,
} from '../../../../lib/errors.js';
import { statusOf } from '../../../../lib/api/status.js';
import { formatCliError, statusError } from '../../../../cli/client/status.js';

describe('statusError', () => {
  it('maps a Status reason to the catalogue error and keeps its causes', () => {
    const err = statusError(422, {
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      message: 'Instance.cloudlet.dev "web" is invalid: spec.cpu: Invalid value',
      details: { causes: [{ reason: 'FieldValueInvalid', field: 'spec.cpu', message: 'Invalid value' }] },
    });
    expect(err).to.be.instanceOf(ValidationError);
    expect((err as ValidationError).causes).to.deep.equal([{ field: 'spec.cpu', message: 'Invalid value', type: 'FieldValueInvalid' }]);
  });

  it('maps Expired to GoneError, so watchers relist', () => {
    expect(statusError(410, { kind: 'Status', reason: 'Expired', message: 'too old' })).to.be.instanceOf(GoneError);
  });

  it('decodes every Status the server writes back to an error of the same class, causes and retry hint', () => {
    const mismatches: string[] = [];
    for (const code of ERROR_CODES) {
      const sent = errorOfCode(code, `failed with ${code}`, {
        causes: [{ field: 'spec.cpu', message: 'bad', type: 'FieldValueInvalid' }],
        retryAfterSeconds: 3,
      });
      const status = statusOf(sent);
      const got = statusError(status.code, JSON.parse(JSON.stringify(status)));
      const same =
        got.constructor === sent.constructor &&
        got.message === sent.message &&
        JSON.stringify((got as { causes?: unknown }).causes) === JSON.stringify((sent as { causes?: unknown }).causes) &&
        (got as { retryAfterSeconds?: unknown }).retryAfterSeconds === (sent as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      const generic = got.code === 'Internal' || got.code === 'MethodNotAllowed';
      if (!same && !(generic && HTTP_STATUS[got.code] === HTTP_STATUS[code])) mismatches.push(`${code} came back as ${got.name}`);
    }
    expect(mismatches).to.deep.equal([]);
  });

  it('uses the HTTP code when the body is not a Status', () => {
    const err = statusError(409, 'busy', 'post instances');
    expect(err).to.be.instanceOf(ConflictError);
    expect(formatCliError(err)).to.equal('Error from server (Conflict): the server responded with status 409 (post instances)');
  });
});

describe('formatCliError', () => {
  it('prints server errors like kubectl and others as error:', () => {
    expect(
      formatCliError(statusError(404, { kind: 'Status', reason: 'NotFound', message: 'instances.cloudlet.dev "x" not found' })),
    ).to.equal('Error from server (NotFound): instances.cloudlet.dev "x" not found');
    expect(formatCliError(new NotFoundError('the server doesn\'t have a resource type "foo"'))).to.equal(
      'error: the server doesn\'t have a resource type "foo"',
    );
    expect(formatCliError(new UnavailableError('down'), 'web.yaml: document 1')).to.equal('error: web.yaml: document 1: down');
  });
});
