import { expect } from 'chai';
import { UnavailableError, ValidationError } from '../../../../lib/errors.js';
import { isTransportFailure, markTransportFailure } from '../../../../cli/client/transport.js';
import { withLastApplied } from '../../../../cli/apply/merge-patch.js';
import { ResourceCatalog } from '../../../../cli/client/resources.js';
import { parseDuration } from '../../../../cli/context.js';
import { planApply, resolveDocs, validateAll } from '../../../../cli/commands/apply.js';
import { parseKindArgs, parseOutput } from '../../../../cli/commands/get.js';
import { conditionMet, parseWaitFor } from '../../../../cli/commands/wait.js';
import { placementOf } from '../../../../cli/commands/instance-shell.js';
import type { ManifestDoc } from '../../../../cli/manifests/load.js';

const doc = (index: number, object: Record<string, unknown>): ManifestDoc => ({ source: 'web.yaml', index, object });
const inst = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'cloudlet.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name, ...extra },
  spec: { image: 'busybox' },
});

describe('resolveDocs', () => {
  it('fills in the namespace of namespaced kinds and drops it from cluster-scoped ones', async () => {
    const catalog = await ResourceCatalog.local();
    const out = resolveDocs(
      [
        doc(1, inst('a')),
        doc(2, { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name: 'lan', namespace: 'x' }, spec: {} }),
      ],
      { catalog, defaultNamespace: 'default' },
    );
    expect(out.map((d) => d.namespace)).to.deep.equal(['default', undefined]);
    expect(out[1]?.object.metadata).to.deep.equal({ name: 'lan' });
  });

  it('lists every problem with its document before anything is sent', async () => {
    const catalog = await ResourceCatalog.local();
    const docs = [
      doc(1, inst('a')),
      doc(2, { kind: 'Instance' }),
      doc(3, { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Foo', metadata: { name: 'f' } }),
      doc(4, { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: {} }),
    ];
    expect(() => resolveDocs(docs, { catalog, defaultNamespace: 'default' }))
      .to.throw(ValidationError)
      .with.property(
        'message',
        'web.yaml: document 2: apiVersion is required\nweb.yaml: document 3: no matches for kind "Foo" in version "cloudlet.dev/v1alpha1"\nweb.yaml: document 4: metadata.name is required',
      );
  });

  it('rejects a manifest namespace that contradicts -n', async () => {
    const catalog = await ResourceCatalog.local();
    expect(() =>
      resolveDocs([doc(1, inst('a', { namespace: 'prod' }))], { catalog, flagNamespace: 'dev', defaultNamespace: 'dev' }),
    ).to.throw('does not match the namespace "dev"');
  });
});

describe('planApply', () => {
  it('creates an absent object with the last-applied annotation, and reports an identical one unchanged', async () => {
    const catalog = await ResourceCatalog.local();
    const [d] = resolveDocs([doc(1, inst('a'))], { catalog, defaultNamespace: 'default' });
    if (!d) throw new Error('no doc');
    const create = planApply(d, undefined, false);
    expect(create.action).to.equal('create');
    const live = { ...withLastApplied(d.object).modified, status: {} };
    expect(planApply(d, live, false)).to.deep.equal({ action: 'unchanged' });
    expect(planApply(d, live, true).action).to.equal('server-side');
  });
});

describe('parseKindArgs and parseOutput', () => {
  it('accepts KIND NAME... and KIND/NAME...', () => {
    expect(parseKindArgs(['inst', 'a', 'b'])).to.deep.equal({ kind: 'inst', names: ['a', 'b'] });
    expect(parseKindArgs(['inst/a', 'inst/b'])).to.deep.equal({ kind: 'inst', names: ['a', 'b'] });
    expect(() => parseKindArgs(['inst/a', 'vol/b'])).to.throw(ValidationError);
    expect(() => parseKindArgs(['inst/'])).to.throw(ValidationError);
  });

  it('knows the output formats', () => {
    expect(['wide', 'yaml', 'json', 'name', undefined].map((o) => parseOutput(o).format)).to.deep.equal([
      'wide',
      'yaml',
      'json',
      'name',
      'table',
    ]);
    expect(parseOutput('jsonpath={.status.phase}')).to.deep.equal({ format: 'jsonpath', template: '{.status.phase}' });
    expect(() => parseOutput('xml')).to.throw(ValidationError, 'allowed formats');
  });
});

describe('parseWaitFor and conditionMet', () => {
  const running = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };

  it('parses condition, delete and jsonpath forms', () => {
    expect(parseWaitFor('condition=Ready')).to.deep.equal({ type: 'condition', condition: 'Ready', status: 'True' });
    expect(parseWaitFor('condition=Ready=False')).to.deep.equal({ type: 'condition', condition: 'Ready', status: 'False' });
    expect(parseWaitFor('delete')).to.deep.equal({ type: 'delete' });
    expect(parseWaitFor("jsonpath='{.status.phase}'=Running")).to.deep.equal({
      type: 'jsonpath',
      path: '{.status.phase}',
      value: 'Running',
    });
    expect(parseWaitFor('jsonpath={.status.member}')).to.deep.equal({ type: 'jsonpath', path: '{.status.member}', value: undefined });
    expect(() => parseWaitFor('ready')).to.throw(ValidationError, 'unrecognized condition');
  });

  it('checks conditions case-insensitively, absence for delete, and jsonpath values', () => {
    expect(conditionMet(parseWaitFor('condition=ready'), running)).to.equal(true);
    expect(conditionMet(parseWaitFor('condition=Ready=False'), running)).to.equal(false);
    expect(conditionMet(parseWaitFor('condition=Ready'), undefined)).to.equal(false);
    expect(conditionMet(parseWaitFor('delete'), undefined)).to.equal(true);
    expect(conditionMet(parseWaitFor('delete'), running)).to.equal(false);
    expect(conditionMet(parseWaitFor('jsonpath={.status.phase}=Running'), running)).to.equal(true);
    expect(conditionMet(parseWaitFor('jsonpath={.status.phase}=Stopped'), running)).to.equal(false);
    expect(conditionMet(parseWaitFor('jsonpath={.status.member}'), running)).to.equal(false);
  });
});

describe('parseDuration', () => {
  it('reads seconds, units and combinations', () => {
    expect(['60s', '2m', '1h', '500ms', '1m30s', '5', '0.5'].map((d) => parseDuration(d))).to.deep.equal([
      60000, 120000, 3600000, 500, 90000, 5000, 500,
    ]);
    expect(() => parseDuration('soon', '--timeout')).to.throw(ValidationError, 'invalid --timeout "soon"');
  });
});

describe('placementOf', () => {
  it('reads the member and container, and explains an instance that has neither yet', () => {
    expect(placementOf('web', { status: { member: 'm1', containerName: 'default-web' } })).to.deep.equal({
      member: 'm1',
      container: 'default-web',
    });
    expect(() => placementOf('web', { status: { phase: 'Pending' } })).to.throw('not placed on a member yet (phase Pending)');
    expect(() => placementOf('web', { status: { member: 'm1' } })).to.throw('has no container yet on member "m1"');
  });
});

describe('apply validation pass', () => {
  const plan = { action: 'unchanged' } as const;

  it('counts every refused document and checks them all', async () => {
    const reported: number[] = [];
    const pass = await validateAll(
      [1, 2, 3],
      async (d) => {
        if (d !== 2) return plan;
        throw new ValidationError('spec.cpu: must be a number');
      },
      (d) => reported.push(d),
    );
    expect(pass).to.deep.equal({ plans: [plan, plan], failures: 1 });
    expect(reported).to.deep.equal([2]);
  });

  it('stops at a transport failure and reports it as such, not as failed validation', async () => {
    const checked: number[] = [];
    const refused = markTransportFailure(new UnavailableError('the connection to the server https://127.0.0.1:6443 was refused'));
    const pass = await validateAll(
      [1, 2, 3, 4],
      async (d) => {
        checked.push(d);
        if (d >= 3) throw refused;
        return plan;
      },
      () => expect.fail('a transport failure is not a refused document'),
    );
    expect(pass.failures).to.equal(0);
    expect(pass.unreachable).to.deep.equal({ error: refused, checked: 2 });
    expect(checked).to.deep.equal([1, 2, 3]);
  });

  it('tells transport failures from answers that say no', () => {
    expect(isTransportFailure(markTransportFailure(new UnavailableError('refused')))).to.equal(true);
    expect(isTransportFailure(new UnavailableError('503 from the server'))).to.equal(false);
    expect(isTransportFailure('refused')).to.equal(false);
  });
});
