/**
 * The rules of the house (DESIGN.md §1), checked on the sources: lib/ never
 * imports controllers/, daemon/ or cli/; controllers/ never import etcd3,
 * daemon/ or cli/; daemon/ never imports cli/; cli/ imports no controllers/
 * and reaches daemon/ only through dynamic import() (for the commands that
 * run server code on this machine: daemon, init, join, recover).
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from '../../lib/kinds/registry.js';

const root = projectRoot();

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** importsOf lists a file's static imports (resolved against the root) and bare package names; dynamic import() is left out. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)';/gms)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith('.') ? relative(root, join(root, file, '..', s)) : s));
}

const rules: Array<[string, RegExp, string]> = [
  ['lib', /^(controllers|daemon|cli)\//, 'lib/ imports no controllers/, daemon/ or cli/'],
  ['controllers', /^(etcd3$|daemon\/|cli\/)/, 'controllers/ import no etcd3, daemon/ or cli/'],
  ['daemon', /^cli\//, 'daemon/ imports no cli/'],
  ['cli', /^(controllers|daemon)\//, 'cli/ imports no controllers/ and reaches daemon/ only by dynamic import()'],
];

describe('layering of the source tree', () => {
  it('reads the static imports it checks', () => {
    expect(importsOf('daemon/daemon.ts')).to.include.members(['lib/store/etcd-store.js', 'controllers/membership/member-agent.js']);
    expect(importsOf('lib/store/etcd-backend.ts')).to.include('etcd3');
  });
  for (const [dir, forbidden, rule] of rules) {
    it(rule, () => {
      const offenders = sources(dir).flatMap((f) =>
        importsOf(f)
          .filter((i) => forbidden.test(i))
          .map((i) => `${f} → ${i}`),
      );
      expect(offenders).to.deep.equal([]);
    });
  }
});
