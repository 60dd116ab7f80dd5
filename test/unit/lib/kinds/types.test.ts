/**
 * The TypeScript types of the kinds (lib/kinds/types.ts) against their CRD
 * schemas (crds/): for every kind, the property paths under `spec` and
 * `status` must be the same in both. Types are erased at run time, so the
 * types are read with the TypeScript compiler's type checker.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import ts from 'typescript';
import { CLOUDLET_GROUP, KindRegistry, projectRoot, type JsonSchema } from '../../../../lib/kinds/registry.js';
import { isJsonMap } from '../../../../lib/json.js';

const TYPES_FILE = join(projectRoot(), 'lib', 'kinds', 'types.ts');

/** typePaths lists `a`, `a.b`, `a[].c`, `a.*` (map values) for every property reachable from `type`. */
function typePaths(checker: ts.TypeChecker, type: ts.Type, prefix: string, out: Set<string>, depth = 0): void {
  if (depth > 8) return;
  const t = checker.getNonNullableType(type);
  if (checker.isArrayType(t)) {
    const element = checker.getTypeArguments(t as ts.TypeReference)[0];
    if (element) typePaths(checker, element, `${prefix}[]`, out, depth + 1);
    return;
  }
  if (!(t.flags & ts.TypeFlags.Object)) return; // primitives, literals and unions of them are leaves
  const props = checker.getPropertiesOfType(t);
  const mapValue = t.getStringIndexType();
  if (props.length === 0 && mapValue) {
    typePaths(checker, mapValue, `${prefix}.*`, out, depth + 1);
    return;
  }
  for (const p of props) {
    const path = prefix ? `${prefix}.${p.name}` : p.name;
    out.add(path);
    const decl = p.valueDeclaration ?? p.declarations?.[0];
    if (decl) typePaths(checker, checker.getTypeOfSymbolAtLocation(p, decl), path, out, depth + 1);
  }
}

/** schemaPaths lists the same paths for an OpenAPI v3 schema; preserved unknown fields end the walk. */
function schemaPaths(schema: JsonSchema, prefix: string, out: Set<string>): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (isJsonMap(schema.items)) schemaPaths(schema.items as JsonSchema, `${prefix}[]`, out);
  if (isJsonMap(schema.additionalProperties)) schemaPaths(schema.additionalProperties as JsonSchema, `${prefix}.*`, out);
  if (isJsonMap(schema.properties)) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      const path = prefix ? `${prefix}.${name}` : name;
      out.add(path);
      if (isJsonMap(sub)) schemaPaths(sub as JsonSchema, path, out);
    }
  }
}

function exportedType(checker: ts.TypeChecker, file: ts.SourceFile, name: string): ts.Type | undefined {
  const module = checker.getSymbolAtLocation(file);
  const symbol = module && checker.getExportsOfModule(module).find((s) => s.name === name);
  return symbol ? checker.getDeclaredTypeOfSymbol(symbol) : undefined;
}

describe('the TypeScript types of the kinds against crds/', function () {
  this.timeout(60_000);
  const kinds = KindRegistry.load()
    .all()
    .filter((k) => k.group === CLOUDLET_GROUP);
  let checker: ts.TypeChecker;
  let file: ts.SourceFile;

  before(() => {
    const program = ts.createProgram([TYPES_FILE], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
    });
    checker = program.getTypeChecker();
    const source = program.getSourceFile(TYPES_FILE);
    if (!source) throw new Error(`cannot read ${TYPES_FILE}`);
    file = source;
  });

  it('finds a Spec and a Status type for every kind in crds/', () => {
    expect(kinds.map((k) => k.kind)).to.include.members(['Member', 'StoragePool', 'Volume', 'Network', 'Instance']);
    const missing = kinds.flatMap((k) => [`${k.kind}Spec`, `${k.kind}Status`]).filter((n) => !exportedType(checker, file, n));
    expect(missing).to.deep.equal([]);
  });

  it('reads nested, array and map properties from both sides', () => {
    const instance = kinds.find((k) => k.kind === 'Instance');
    const fromSchema = new Set<string>();
    if (instance) schemaPaths(instance.schema, '', fromSchema);
    const fromType = new Set<string>();
    const spec = exportedType(checker, file, 'InstanceSpec');
    if (spec) typePaths(checker, spec, 'spec', fromType);
    for (const path of ['spec.nics', 'spec.nics[].network', 'spec.placement.memberSelector.matchExpressions[].values']) {
      expect(fromSchema, `schema ${path}`).to.include(path);
      expect(fromType, `type ${path}`).to.include(path);
    }
  });

  for (const part of ['spec', 'status'] as const) {
    it(`has the same ${part} fields in the TypeScript type and the CRD schema of every kind`, () => {
      const differences: string[] = [];
      for (const kind of kinds) {
        const typeName = `${kind.kind}${part === 'spec' ? 'Spec' : 'Status'}`;
        const type = exportedType(checker, file, typeName);
        const schema = isJsonMap(kind.schema.properties) ? kind.schema.properties[part] : undefined;
        if (!type || !isJsonMap(schema)) {
          differences.push(`${kind.kind}: ${!type ? `no type ${typeName}` : `no ${part} in the CRD schema`}`);
          continue;
        }
        const fromType = new Set<string>();
        typePaths(checker, type, part, fromType);
        const fromSchema = new Set<string>();
        schemaPaths(schema as JsonSchema, part, fromSchema);
        for (const p of fromType) if (!fromSchema.has(p)) differences.push(`${kind.kind}: ${p} is in ${typeName} but not in the CRD`);
        for (const p of fromSchema) if (!fromType.has(p)) differences.push(`${kind.kind}: ${p} is in the CRD but not in ${typeName}`);
      }
      expect(differences).to.deep.equal([]);
    });
  }
});
