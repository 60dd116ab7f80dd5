import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { jsonPatch } from '../../../../lib/api/patch.js';

/** one case of the public JSON Patch test suite (json-patch-test-suite on npm) */
interface SuiteCase {
  comment?: string;
  doc: unknown;
  patch: unknown;
  expected?: unknown;
  error?: string;
  disabled?: boolean;
}

const require = createRequire(import.meta.url);

function load(file: string): SuiteCase[] {
  return JSON.parse(readFileSync(require.resolve(`json-patch-test-suite/${file}`), 'utf8')) as SuiteCase[];
}

for (const file of ['tests.json', 'spec_tests.json']) {
  const cases = load(file);
  const disabled = cases.filter((c) => c.disabled === true).length;
  describe(`the public JSON Patch suite, ${file} (${cases.length} cases, ${disabled} marked disabled and skipped)`, () => {
    for (const [i, c] of cases.entries()) {
      const title = `case ${i + 1}: ${c.comment ?? c.error ?? JSON.stringify(c.patch)}`;
      if (c.disabled === true) continue;
      if (c.error !== undefined) {
        it(`${title} (fails)`, () => {
          expect(() => jsonPatch(c.doc, c.patch)).to.throw();
        });
      } else if ('expected' in c) {
        it(title, () => {
          expect(jsonPatch(c.doc, c.patch)).to.deep.equal(c.expected);
        });
      } else {
        it(`${title} (applies)`, () => {
          expect(() => jsonPatch(c.doc, c.patch)).not.to.throw();
        });
      }
    }
  });
}
