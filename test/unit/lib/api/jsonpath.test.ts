import { expect } from 'chai';
import { evalJsonPath, executeJsonPath, jsonPathText } from '../../../../lib/api/jsonpath.js';
import { BadRequestError } from '../../../../lib/errors.js';

const list = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      metadata: { name: 'web', labels: { app: 'web', 'cloudlet.dev/tier': 'front' } },
      spec: { cpu: 2, memory: '1Gi', ports: [80, 443] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    },
    {
      metadata: { name: 'db', labels: { app: 'db' } },
      spec: { cpu: 4, memory: '4Gi', ports: [5432] },
      status: { phase: 'Stopped', conditions: [{ type: 'Ready', status: 'False' }] },
    },
    {
      metadata: { name: 'cache' },
      spec: { cpu: 1, ports: [] },
      status: { phase: 'Running', ready: null },
    },
  ],
};

describe('executeJsonPath', () => {
  const table: Array<[string, string]> = [
    // the kubectl forms
    ['{.items[*].metadata.name}', 'web db cache'],
    ['{range .items[*]}{.metadata.name}{"\\n"}{end}', 'web\ndb\ncache\n'],
    ['{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}', 'web\tRunning\ndb\tStopped\ncache\tRunning\n'],
    ['{range .items}[{.metadata.name}]{end}', '[web][db][cache]'],
    ['{.items[0].metadata.name} {.items[1].metadata.name}', 'web db'],
    ['name: {.items[0].metadata.name}!', 'name: web!'],
    ['plain text', 'plain text'],
    // roots and fields
    ['{.kind}', 'List'],
    ['{$.kind}', 'List'],
    ['{@.kind}', 'List'],
    ["{.items[0].metadata.labels['cloudlet.dev/tier']}", 'front'],
    ['{.items[0].metadata.labels["cloudlet.dev/tier"]}', 'front'],
    ['{.items[0].metadata.labels.cloudlet\\.dev/tier}', 'front'],
    // indexes, slices, unions, wildcards
    ['{.items[-1].metadata.name}', 'cache'],
    ['{.items[0:2].metadata.name}', 'web db'],
    ['{.items[1:].metadata.name}', 'db cache'],
    ['{.items[:1].metadata.name}', 'web'],
    ['{.items[::2].metadata.name}', 'web cache'],
    ['{.items[-2:].metadata.name}', 'db cache'],
    ['{.items[0:10].metadata.name}', 'web db cache'],
    ['{.items[0,2].metadata.name}', 'web cache'],
    ["{.items[0].metadata['name','labels']}", 'web {"app":"web","cloudlet.dev/tier":"front"}'],
    ['{.items[0].metadata.labels.*}', 'web front'],
    ['{.items[0].metadata.labels[*]}', 'web front'],
    ['{.kind,.apiVersion}', 'List v1'],
    // recursive descent
    ['{..phase}', 'Running Stopped Running'],
    ['{.items[0]..type}', 'Ready'],
    ['{$..ports[0]}', '80 5432'],
    // filters
    ["{.items[?(@.status.phase == 'Running')].metadata.name}", 'web cache'],
    ['{.items[?(@.status.phase=="Stopped")].metadata.name}', 'db'],
    ["{.items[?(@.status.phase != 'Running')].metadata.name}", 'db'],
    ['{.items[?(@.spec.cpu > 1)].metadata.name}', 'web db'],
    ['{.items[?(@.spec.cpu >= 2)].metadata.name}', 'web db'],
    ['{.items[?(@.spec.cpu < 2)].metadata.name}', 'cache'],
    ['{.items[?(@.spec.cpu <= 2)].metadata.name}', 'web cache'],
    ["{.items[?(@.spec.memory < '2Gi')].metadata.name}", 'web'],
    ['{.items[?(@.metadata.labels)].metadata.name}', 'web db'],
    ['{.items[?(@.metadata.labels.app)].metadata.labels.app}', 'web db'],
    ["{.items[*].status.conditions[?(@.type=='Ready')].status}", 'True False'],
    ["{range .items[?(@.status.phase=='Running')]}{.metadata.name},{end}", 'web,cache,'],
    ['{.items[0].spec.ports[?(@ > 100)]}', '443'],
    // formatting: maps and lists as JSON with sorted keys, null, numbers, booleans
    ['{.items[0].spec}', '{"cpu":2,"memory":"1Gi","ports":[80,443]}'],
    ['{.items[0].spec.ports}', '[80,443]'],
    ['{.items[*].spec.ports}', '[80,443] [5432] []'],
    ['{.items[2].status.ready}', 'null'],
    ['{.items[0].spec.cpu}', '2'],
    // missing fields print nothing by default (kubectl get's --allow-missing-template-keys=true)
    ['{.items[0].metadata.missing}', ''],
    ['{.items[5].metadata.name}', ''],
    ['{.nope.deeper}x', 'x'],
    ['{range .nope[*]}{.a}{end}', ''],
    // string literals
    ['{"a\\"b"}', 'a"b'],
    ["{'single'}", 'single'],
    ['{"{}"}', '{}'],
    ['{"\\u00e9"}', 'é'],
  ];
  for (const [template, output] of table) {
    it(`prints ${template} as ${JSON.stringify(output)}`, () => {
      expect(executeJsonPath(template, list)).to.equal(output);
    });
  }

  it('prints {.} as the whole value in JSON with sorted keys', () => {
    expect(executeJsonPath('{.}', { b: 1, a: { d: 2, c: 3 } })).to.equal('{"a":{"c":3,"d":2},"b":1}');
  });

  it('prints an object, not a List, for a single object', () => {
    expect(executeJsonPath('{.metadata.name}', list.items[0])).to.equal('web');
  });

  it('reaches the root with $ inside a range', () => {
    expect(executeJsonPath('{range .items[0:2]}{.metadata.name}/{$.kind} {end}', list)).to.equal('web/List db/List ');
  });

  it('nests ranges', () => {
    expect(executeJsonPath('{range .items[0:2]}{.metadata.name}:{range .spec.ports[*]}{@},{end};{end}', list)).to.equal(
      'web:80,443,;db:5432,;',
    );
  });

  const missing: Array<[string, RegExp]> = [
    ['{.items[0].metadata.missing}', /missing is not found/],
    ['{.nope.deeper}', /nope is not found/],
    ['{.items[5].metadata.name}', /array index 5 is out of range/],
  ];
  for (const [template, message] of missing) {
    it(`fails on ${template} when missing keys are not allowed`, () => {
      expect(() => executeJsonPath(template, list, { allowMissingKeys: false }))
        .to.throw(BadRequestError, message)
        .with.property('message')
        .that.includes(JSON.stringify(template));
    });
  }

  it('does not fail on an empty list or on items lacking a field some others have', () => {
    expect(executeJsonPath('{.items[*].metadata.name}', { items: [] }, { allowMissingKeys: false })).to.equal('');
    expect(executeJsonPath('{.items[*].metadata.labels.app}', list, { allowMissingKeys: false })).to.equal('web db');
  });

  const bad: Array<[string, string]> = [
    ['{.items[', 'unclosed "[" at character 8'],
    ['{.items[*]', 'unclosed action "{" at character 1'],
    ['{.a} {.b', 'unclosed action "{" at character 6'],
    ['{}', 'empty action "{}" at character 1'],
    ['{range .items[*]}{.a}', '{range} without a matching {end} at character 1'],
    ['{.a}{end}', '{end} without a matching {range} at character 5'],
    ['{metadata.name}', 'expected a path such as .metadata.name at character 2'],
    ['{.items[abc]}', 'expected an index, a slice, "*", a quoted key or a filter at character 9'],
    ['{.items[?(@.a ~ 1)]}', 'expected ")" to close the filter, found "~" at character 15'],
    ['{.items[?(@.a == )]}', 'expected @, $, a number, a quoted string, true, false or null in the filter at character 18'],
    ['{.items[?@.a]}', 'expected "(" after "[?", found "@" at character 10'],
    ['{.items[0:2:0]}', 'a slice step cannot be 0 at character 13'],
    ['{.items[::-1]}', 'a negative slice step is not supported at character 11'],
    ['{.items[0,1:2]}', 'a slice cannot be part of a union at character 11'],
    ['{.a..}', 'expected a field name, "*" or "[" after ".." at character 6'],
    ['{"abc}', 'unterminated string at character 2'],
    ['{"\\q"}', 'unknown escape "\\q" in a string at character 3'],
    ['{.a b}', 'unexpected "b" at character 5'],
  ];
  for (const [template, message] of bad) {
    it(`rejects ${template} naming the expression and the position`, () => {
      expect(() => executeJsonPath(template, list))
        .to.throw(BadRequestError)
        .with.property('message')
        .that.equals(`error parsing jsonpath ${JSON.stringify(template)}: ${message}`);
    });
  }
});

describe('evalJsonPath (printer columns and wait)', () => {
  const obj = list.items[0];
  const table: Array<[string, unknown[]]> = [
    ['.metadata.name', ['web']],
    ['{.metadata.name}', ['web']],
    ['$.metadata.name', ['web']],
    ['metadata.name', ['web']],
    [' .spec.ports[*] ', [80, 443]],
    ['.spec.ports[5]', []],
    [".metadata.labels['cloudlet.dev/tier']", ['front']],
    ["{.status.conditions[?(@.type=='Ready')].status}", ['True']],
    ['.spec', [{ cpu: 2, memory: '1Gi', ports: [80, 443] }]],
    ['.spec.cpu,.spec.memory', [2, '1Gi']],
  ];
  for (const [path, values] of table) {
    it(`evaluates ${path}`, () => {
      expect(evalJsonPath(obj, path)).to.deep.equal(values);
    });
  }

  for (const path of ['{range .items[*]}{.a}{end}', '.a[', '.a{', '.a b']) {
    it(`rejects ${path} with a BadRequestError`, () => {
      expect(() => evalJsonPath(obj, path)).to.throw(BadRequestError, /error parsing jsonpath/);
    });
  }
});

describe('jsonPathText', () => {
  it('prints strings as they are, other scalars as text, null as null and objects as JSON', () => {
    expect([
      jsonPathText('a b'),
      jsonPathText(1.5),
      jsonPathText(true),
      jsonPathText(null),
      jsonPathText({ b: [1], a: 'x' }),
    ]).to.deep.equal(['a b', '1.5', 'true', 'null', '{"a":"x","b":[1]}']);
  });
});
