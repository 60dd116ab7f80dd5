import { expect } from 'chai';
import { LAST_APPLIED_ANNOTATION, goJson, lastAppliedOf, threeWayMergePatch, withLastApplied } from '../../../../cli/apply/merge-patch.js';
import type { JsonMap } from '../../../../lib/json.js';

const manifest = (spec: JsonMap, labels: JsonMap = { app: 'demo' }): JsonMap => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'foo', namespace: 'default', labels },
  spec,
});

describe('goJson', () => {
  it('sorts keys at every level like Go maps', () => {
    expect(goJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: true } })).to.equal('{"a":{"c":true,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it('escapes <, > and & and line separators as Go does', () => {
    expect(goJson({ s: 'a<b>&c\u2028' })).to.equal('{"s":"a\\u003cb\\u003e\\u0026c\\u2028"}');
  });

  it('keeps an escaped backslash before a letter intact', () => {
    expect(goJson('\\b')).to.equal('"\\\\b"');
    expect(goJson('\b')).to.equal('"\\u0008"');
  });
});

describe('withLastApplied', () => {
  it('records the manifest exactly as kubectl does, with empty annotations and a trailing newline', () => {
    const { annotation, modified } = withLastApplied(manifest({ color: 'red', size: 3, tags: ['a', 'b'] }));
    expect(annotation).to.equal(
      '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"annotations":{},"labels":{"app":"demo"},"name":"foo","namespace":"default"},"spec":{"color":"red","size":3,"tags":["a","b"]}}\n',
    );
    expect((modified.metadata as JsonMap).annotations).to.deep.equal({ [LAST_APPLIED_ANNOTATION]: annotation });
  });

  it('leaves out a stale last-applied annotation of the manifest itself', () => {
    const m = manifest({ size: 1 });
    (m.metadata as JsonMap).annotations = { [LAST_APPLIED_ANNOTATION]: 'old', note: 'x' };
    const { annotation } = withLastApplied(m);
    expect(JSON.parse(annotation).metadata.annotations).to.deep.equal({ note: 'x' });
  });
});

describe('threeWayMergePatch', () => {
  function live(spec: JsonMap, applied: JsonMap): JsonMap {
    const { modified } = withLastApplied(applied);
    return { ...modified, spec, status: { phase: 'Running' } };
  }

  it('is empty when the manifest is applied again unchanged', () => {
    const m = manifest({ size: 3 });
    const current = live({ size: 3, defaulted: true }, m);
    expect(threeWayMergePatch({ original: lastAppliedOf(current), modified: withLastApplied(m).modified, current })).to.deep.equal({});
  });

  it('sends changed fields and the new annotation', () => {
    const old = manifest({ size: 3 });
    const current = live({ size: 3 }, old);
    const { modified, annotation } = withLastApplied(manifest({ size: 5 }));
    expect(threeWayMergePatch({ original: lastAppliedOf(current), modified, current })).to.deep.equal({
      metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: annotation } },
      spec: { size: 5 },
    });
  });

  it('deletes with null the fields removed from the manifest, but not fields others set', () => {
    const old = manifest({ size: 3, color: 'red' }, { app: 'demo', tier: 'web' });
    const current = live({ size: 3, color: 'red', setByServer: 1 }, old);
    const { modified } = withLastApplied(manifest({ size: 3 }, { app: 'demo' }));
    const patch = threeWayMergePatch({ original: lastAppliedOf(current), modified, current });
    expect(patch.spec).to.deep.equal({ color: null });
    expect((patch.metadata as JsonMap).labels).to.deep.equal({ tier: null });
  });

  it('replaces lists whole', () => {
    const old = manifest({ tags: ['a', 'b'] });
    const current = live({ tags: ['a', 'b'] }, old);
    const { modified } = withLastApplied(manifest({ tags: ['a'] }));
    expect(threeWayMergePatch({ original: lastAppliedOf(current), modified, current }).spec).to.deep.equal({ tags: ['a'] });
  });

  it('deletes nothing when the live object has no last-applied annotation', () => {
    const current: JsonMap = { ...manifest({ size: 3, color: 'red' }) };
    const { modified } = withLastApplied(manifest({ size: 3 }));
    const patch = threeWayMergePatch({ original: lastAppliedOf(current), modified, current });
    expect(patch.spec).to.equal(undefined);
    expect(patch.metadata).to.have.nested.property(`annotations.${LAST_APPLIED_ANNOTATION.replace(/\./g, '\\.')}`);
  });

  it('removes a whole map that the manifest dropped', () => {
    const old: JsonMap = { ...manifest({ size: 1 }), extra: { a: 1 } };
    const current = { ...live({ size: 1 }, old), extra: { a: 1 } };
    const { modified } = withLastApplied(manifest({ size: 1 }));
    expect(threeWayMergePatch({ original: lastAppliedOf(current), modified, current }).extra).to.equal(null);
  });
});
