import { expect } from 'chai';
import { jsonPatch, mergePatch } from '../../../../lib/api/patch.js';
import { BadRequestError, ValidationError } from '../../../../lib/errors.js';

describe('mergePatch (RFC 7386)', () => {
  const table: Array<{ target: unknown; patch: unknown; result: unknown }> = [
    { target: { a: 'b' }, patch: { a: 'c' }, result: { a: 'c' } },
    { target: { a: 'b' }, patch: { b: 'c' }, result: { a: 'b', b: 'c' } },
    { target: { a: 'b' }, patch: { a: null }, result: {} },
    { target: { a: 'b', b: 'c' }, patch: { a: null }, result: { b: 'c' } },
    { target: { a: ['b'] }, patch: { a: 'c' }, result: { a: 'c' } },
    { target: { a: 'c' }, patch: { a: ['b'] }, result: { a: ['b'] } },
    { target: { a: { b: 'c' } }, patch: { a: { b: 'd', c: null } }, result: { a: { b: 'd' } } },
    { target: { a: [{ b: 'c' }] }, patch: { a: [1] }, result: { a: [1] } },
    { target: ['a', 'b'], patch: ['c', 'd'], result: ['c', 'd'] },
    { target: { a: 'b' }, patch: ['c'], result: ['c'] },
    { target: { a: 'foo' }, patch: null, result: null },
    { target: { e: null }, patch: { a: 1 }, result: { e: null, a: 1 } },
    { target: [1, 2], patch: { a: 'b', c: null }, result: { a: 'b' } },
    { target: {}, patch: { a: { bb: { ccc: null } } }, result: { a: { bb: {} } } },
  ];
  for (const [i, t] of table.entries()) {
    it(`applies the RFC 7386 example ${i + 1}`, () => {
      expect(mergePatch(t.target, t.patch)).to.deep.equal(t.result);
    });
  }

  it('does not change its inputs', () => {
    const target = { spec: { color: 'red', size: 3 } };
    mergePatch(target, { spec: { color: null } });
    expect(target).to.deep.equal({ spec: { color: 'red', size: 3 } });
  });
});

describe('jsonPatch (RFC 6902)', () => {
  const doc = { spec: { size: 3, tags: ['a', 'b'] }, metadata: { labels: { 'app/x': '1' } } };
  const ok: Array<{ what: string; patch: unknown; result: unknown }> = [
    {
      what: 'replaces a value',
      patch: [{ op: 'replace', path: '/spec/size', value: 5 }],
      result: { ...doc, spec: { size: 5, tags: ['a', 'b'] } },
    },
    {
      what: 'adds to the end of a list',
      patch: [{ op: 'add', path: '/spec/tags/-', value: 'c' }],
      result: { ...doc, spec: { size: 3, tags: ['a', 'b', 'c'] } },
    },
    {
      what: 'inserts into a list',
      patch: [{ op: 'add', path: '/spec/tags/0', value: 'z' }],
      result: { ...doc, spec: { size: 3, tags: ['z', 'a', 'b'] } },
    },
    { what: 'removes a value', patch: [{ op: 'remove', path: '/spec/tags/0' }], result: { ...doc, spec: { size: 3, tags: ['b'] } } },
    {
      what: 'moves a value',
      patch: [{ op: 'move', from: '/spec/size', path: '/spec/count' }],
      result: { ...doc, spec: { count: 3, tags: ['a', 'b'] } },
    },
    {
      what: 'copies a value',
      patch: [{ op: 'copy', from: '/spec/size', path: '/spec/count' }],
      result: { ...doc, spec: { size: 3, count: 3, tags: ['a', 'b'] } },
    },
    { what: 'passes a test', patch: [{ op: 'test', path: '/spec/size', value: 3 }], result: doc },
    {
      what: 'unescapes ~1 in keys',
      patch: [{ op: 'replace', path: '/metadata/labels/app~1x', value: '2' }],
      result: { ...doc, metadata: { labels: { 'app/x': '2' } } },
    },
  ];
  for (const t of ok) {
    it(t.what, () => {
      expect(jsonPatch(doc, t.patch)).to.deep.equal(t.result);
    });
  }

  const bad: Array<{ what: string; patch: unknown; error: typeof BadRequestError | typeof ValidationError }> = [
    { what: 'a patch that is not a list', patch: { op: 'add' }, error: BadRequestError },
    { what: 'an unknown op', patch: [{ op: 'frob', path: '/a' }], error: BadRequestError },
    { what: 'a replace of a missing field', patch: [{ op: 'replace', path: '/spec/colour', value: 1 }], error: ValidationError },
    { what: 'a remove of a missing field', patch: [{ op: 'remove', path: '/nope/deeper' }], error: ValidationError },
    { what: 'a failed test', patch: [{ op: 'test', path: '/spec/size', value: 4 }], error: ValidationError },
    { what: 'an index out of range', patch: [{ op: 'add', path: '/spec/tags/7', value: 'x' }], error: ValidationError },
  ];
  for (const t of bad) {
    it(`rejects ${t.what}`, () => {
      expect(() => jsonPatch(doc, t.patch)).to.throw(t.error);
    });
  }

  it('leaves the document unchanged when an operation fails', () => {
    const d = { a: 1 };
    expect(() =>
      jsonPatch(d, [
        { op: 'replace', path: '/a', value: 2 },
        { op: 'test', path: '/a', value: 1 },
      ]),
    ).to.throw(ValidationError);
    expect(d).to.deep.equal({ a: 1 });
  });
});

describe('patches and the prototype chain', () => {
  const doc = { spec: { size: 3, tags: ['a'] } };
  const polluted = (): unknown[] => [
    (Object.prototype as Record<string, unknown>).polluted,
    (Array.prototype as unknown as Record<string, unknown>).polluted,
  ];

  afterEach(() => {
    // a failing guard must not leave pollution behind for the next test
    delete (Object.prototype as Record<string, unknown>).polluted;
    delete (Array.prototype as unknown as Record<string, unknown>).polluted;
  });

  const pointers: Array<{ what: string; patch: unknown; names: string }> = [
    { what: 'add under /__proto__', patch: [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }], names: '/__proto__/polluted' },
    { what: 'add of /__proto__ itself', patch: [{ op: 'add', path: '/__proto__', value: { polluted: 'yes' } }], names: '/__proto__' },
    {
      what: 'replace under a nested __proto__',
      patch: [{ op: 'replace', path: '/spec/__proto__/polluted', value: 'yes' }],
      names: '/spec/__proto__/polluted',
    },
    {
      what: 'add through constructor/prototype',
      patch: [{ op: 'add', path: '/constructor/prototype/polluted', value: 'yes' }],
      names: '/constructor/prototype/polluted',
    },
    {
      what: 'add through an array element constructor',
      patch: [{ op: 'add', path: '/spec/tags/constructor/prototype/polluted', value: 'yes' }],
      names: '/spec/tags/constructor/prototype/polluted',
    },
    { what: 'a prototype segment alone', patch: [{ op: 'add', path: '/spec/prototype', value: 1 }], names: '/spec/prototype' },
    {
      what: 'copy into /__proto__',
      patch: [{ op: 'copy', from: '/spec', path: '/__proto__/polluted' }],
      names: '/__proto__/polluted',
    },
    {
      what: 'copy from /constructor',
      patch: [{ op: 'copy', from: '/constructor', path: '/spec/ctor' }],
      names: '/constructor',
    },
    {
      what: 'move into /__proto__',
      patch: [{ op: 'move', from: '/spec/size', path: '/__proto__/polluted' }],
      names: '/__proto__/polluted',
    },
    { what: 'remove of /constructor', patch: [{ op: 'remove', path: '/constructor' }], names: '/constructor' },
    { what: 'test of /__proto__', patch: [{ op: 'test', path: '/__proto__', value: {} }], names: '/__proto__' },
    {
      what: 'segment spelled with ~0 and ~1 escapes',
      patch: [{ op: 'add', path: '/spec/__proto__/polluted~1x', value: 'yes' }],
      names: '/spec/__proto__/polluted~1x',
    },
  ];
  for (const t of pointers) {
    it(`refuses a JSON patch ${t.what} with a BadRequestError naming the path`, () => {
      expect(() => jsonPatch(doc, t.patch))
        .to.throw(BadRequestError)
        .with.property('message')
        .that.includes(t.names);
      expect(polluted()).to.deep.equal([undefined, undefined]);
    });
  }

  it('refuses the whole patch before applying any of it', () => {
    const patch = [
      { op: 'replace', path: '/spec/size', value: 4 },
      { op: 'add', path: '/__proto__/polluted', value: 'yes' },
    ];
    expect(() => jsonPatch(doc, patch)).to.throw(BadRequestError);
    expect(doc.spec.size).to.equal(3);
  });

  it('refuses a JSON patch value that carries a __proto__ key', () => {
    const value = JSON.parse('{"inner": {"__proto__": {"polluted": "yes"}}}') as unknown;
    expect(() => jsonPatch(doc, [{ op: 'add', path: '/spec/extra', value }]))
      .to.throw(BadRequestError)
      .with.property('message')
      .that.includes('.inner.__proto__');
    expect(polluted()).to.deep.equal([undefined, undefined]);
  });

  it('still accepts keys that merely contain the forbidden words', () => {
    const out = jsonPatch(doc, [{ op: 'add', path: '/spec/constructorName', value: 'x' }]);
    expect(out).to.deep.equal({ spec: { size: 3, tags: ['a'], constructorName: 'x' } });
  });

  const merges: Array<{ what: string; patch: string; names: string }> = [
    { what: 'a top-level __proto__', patch: '{"__proto__": {"polluted": "yes"}}', names: '.__proto__' },
    { what: 'a nested __proto__', patch: '{"spec": {"__proto__": {"polluted": "yes"}}}', names: '.spec.__proto__' },
    { what: 'constructor.prototype', patch: '{"constructor": {"prototype": {"polluted": "yes"}}}', names: '.constructor' },
    { what: 'a prototype key inside a list', patch: '{"spec": {"tags": [{"prototype": 1}]}}', names: '.spec.tags[0].prototype' },
  ];
  for (const t of merges) {
    it(`refuses a merge patch with ${t.what}, naming the field`, () => {
      expect(() => mergePatch(doc, JSON.parse(t.patch)))
        .to.throw(BadRequestError)
        .with.property('message')
        .that.includes(`"${t.names}"`);
      expect(polluted()).to.deep.equal([undefined, undefined]);
    });
  }

  it('merges over a stored object that holds __proto__ as an own key without touching prototypes', () => {
    const stored = JSON.parse('{"spec": {"__proto__": {"polluted": "yes"}, "size": 1}}') as unknown;
    const out = mergePatch(stored, { spec: { size: 2 } }) as { spec: Record<string, unknown> };
    expect(out.spec.size).to.equal(2);
    expect(Object.getPrototypeOf(out.spec)).to.equal(Object.prototype);
    expect(polluted()).to.deep.equal([undefined, undefined]);
  });
});
