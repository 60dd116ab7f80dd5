import { expect } from 'chai';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadRequestError, NotFoundError } from '../../../../lib/errors.js';
import { loadManifests, parseManifests, readManifestSources } from '../../../../cli/manifests/load.js';

const inst = (name: string) => `apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: ${name}}\nspec: {image: busybox}\n`;

describe('parseManifests', () => {
  it('reads every document of a multi-document file with its 1-based index', () => {
    const docs = parseManifests({ name: 'web.yaml', text: `${inst('a')}---\n${inst('b')}` });
    expect(docs.map((d) => [d.source, d.index, (d.object.metadata as { name: string }).name])).to.deep.equal([
      ['web.yaml', 1, 'a'],
      ['web.yaml', 2, 'b'],
    ]);
  });

  it('skips empty documents but keeps counting them', () => {
    const docs = parseManifests({ name: 'x.yaml', text: `---\n${inst('a')}---\n# only a comment\n---\n${inst('c')}` });
    expect(docs.map((d) => d.index)).to.deep.equal([1, 3]);
  });

  it('names the file, document, line and column of a syntax error', () => {
    const text = `${inst('a')}---\napiVersion: v1\nkind: X\nspec:\n  image: busybox\n cpu: 1\n`;
    expect(() => parseManifests({ name: 'web.yaml', text }))
      .to.throw(BadRequestError)
      .with.property('message', 'web.yaml: document 2, line 10, column 1: All mapping items must start at the same column');
  });

  it('drops the excerpt the yaml library appends to its messages', () => {
    try {
      parseManifests({ name: 'f.yaml', text: 'a: [1,\n' });
      expect.fail('should have thrown');
    } catch (err) {
      expect((err as Error).message).to.not.include('\n');
      expect((err as Error).message).to.match(/^f\.yaml: document 1, line \d+, column \d+: /);
    }
  });

  it('rejects a document that is not an object', () => {
    expect(() => parseManifests({ name: 'l.yaml', text: `${inst('a')}---\n- 1\n- 2\n` })).to.throw(
      'l.yaml: document 2: expected an object',
    );
  });

  it('expands a kind: List into its items', () => {
    const text =
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: A, metadata: {name: x}}\n- {apiVersion: v1, kind: A, metadata: {name: y}}\n';
    expect(parseManifests({ name: 'l.yaml', text }).map((d) => d.index)).to.deep.equal([1, 1]);
  });

  it('reads JSON documents', () => {
    const docs = parseManifests({ name: 'a.json', text: '{"apiVersion":"v1","kind":"A","metadata":{"name":"j"}}' });
    expect(docs[0]?.object.kind).to.equal('A');
  });
});

describe('readManifestSources', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cloudlet-cli-load-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every yaml, yml and json file of a directory in name order and ignores the rest', () => {
    writeFileSync(join(dir, 'b.yml'), inst('b'));
    writeFileSync(join(dir, 'a.yaml'), inst('a'));
    writeFileSync(join(dir, 'c.json'), '{"apiVersion":"v1","kind":"A","metadata":{"name":"c"}}');
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    mkdirSync(join(dir, 'sub.yaml'));
    expect(readManifestSources([dir], () => '').map((s) => s.name)).to.deep.equal([
      join(dir, 'a.yaml'),
      join(dir, 'b.yml'),
      join(dir, 'c.json'),
    ]);
  });

  it('reads - from stdin', () => {
    const docs = loadManifests(['-'], () => inst('s'));
    expect(docs[0]?.source).to.equal('<stdin>');
  });

  it('fails on a path that does not exist', () => {
    expect(() => readManifestSources([join(dir, 'nope.yaml')], () => '')).to.throw(NotFoundError, 'does not exist');
  });
});
