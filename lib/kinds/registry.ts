/**
 * The kind registry: what the API serves and the store keeps. Custom kinds
 * come from the CustomResourceDefinitions in `crds/` (the single source of
 * schema, defaults, printer columns and short names); core v1 Event,
 * Namespace, ResourceQuota and the RBAC kinds are built in (builtin.ts). Built once at start-up and passed down explicitly.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { InternalError, NotFoundError } from '../errors.js';
import { BUILTIN_KINDS } from './builtin.js';

/** PrinterColumn is one `additionalPrinterColumns` entry of a CRD version. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** JsonSchema is an OpenAPI v3 schema node as written in a CRD. */
export type JsonSchema = { [keyword: string]: unknown };

/** KindInfo describes one served kind. */
export interface KindInfo {
  /** API group; '' for the core group */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** openAPIV3Schema of the served version */
  schema: JsonSchema;
  printerColumns: PrinterColumn[];
  hasStatus: boolean;
  /** apiVersion as written in objects: `group/version`, or `version` for core */
  apiVersion: string;
  /** verbs served when not all of them (the review kinds take only `create`) */
  verbs?: string[];
  /** virtual kinds are answered, never stored (SelfSubjectAccessReview); absent means false */
  virtual?: boolean;
}

/** CLOUDLET_GROUP is the API group of Cloudlet's own kinds. */
export const CLOUDLET_GROUP = 'cloudlet.dev';
/** CLOUDLET_VERSION is the served version of Cloudlet's own kinds. */
export const CLOUDLET_VERSION = 'v1alpha1';

/** projectRoot finds the directory holding Cloudlet's package.json, from src or dist. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'crds'))) return dir;
    dir = dirname(dir);
  }
  throw new InternalError('cannot find the Cloudlet project root (package.json beside crds/)');
}

interface CrdDoc {
  kind?: string;
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string; singular?: string; kind?: string; listKind?: string; shortNames?: string[]; categories?: string[] };
    versions?: Array<{
      name?: string;
      served?: boolean;
      storage?: boolean;
      subresources?: { status?: unknown };
      additionalPrinterColumns?: PrinterColumn[];
      schema?: { openAPIV3Schema?: JsonSchema };
    }>;
  };
}

/** kindFromCrd turns one CRD document into a KindInfo for its storage version. */
export function kindFromCrd(doc: unknown, source: string): KindInfo {
  const crd = doc as CrdDoc;
  const spec = crd.spec;
  const names = spec?.names;
  const version = spec?.versions?.find((v) => v.storage) ?? spec?.versions?.[0];
  if (crd.kind !== 'CustomResourceDefinition' || !spec?.group || !names?.plural || !names.kind || !version?.name) {
    throw new InternalError(`${source}: not a complete CustomResourceDefinition`);
  }
  const schema = version.schema?.openAPIV3Schema;
  if (!schema) throw new InternalError(`${source}: version ${version.name} has no openAPIV3Schema`);
  return {
    group: spec.group,
    version: version.name,
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    namespaced: spec.scope === 'Namespaced',
    schema,
    printerColumns: version.additionalPrinterColumns ?? [],
    hasStatus: version.subresources?.status !== undefined,
    apiVersion: `${spec.group}/${version.name}`,
  };
}

/** EVENT_KIND is core v1 Event (defined with the other built-in kinds in builtin.ts). */
export { EVENT_KIND } from './builtin.js';

/** KindRegistry looks kinds up by kind name, plural, singular or short name. */
export class KindRegistry {
  private readonly kinds: KindInfo[];
  constructor(kinds: KindInfo[]) {
    this.kinds = kinds;
  }

  /** KindRegistry.load reads every CRD in `crdDir` (default: the project's crds/) and adds the built-in kinds (lib/kinds/builtin.ts). */
  static load(crdDir: string = join(projectRoot(), 'crds')): KindRegistry {
    const kinds: KindInfo[] = [];
    for (const file of readdirSync(crdDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      const path = join(crdDir, file);
      kinds.push(kindFromCrd(parseYaml(readFileSync(path, 'utf8')), path));
    }
    kinds.push(...BUILTIN_KINDS);
    return new KindRegistry(kinds);
  }

  /** all lists every kind. */
  all(): readonly KindInfo[] {
    return this.kinds;
  }

  /** byGroupResource finds a kind by API group and plural, or undefined. */
  byGroupResource(group: string, plural: string): KindInfo | undefined {
    return this.kinds.find((k) => k.group === group && k.plural === plural);
  }

  /** byApiVersionKind finds a kind by `apiVersion` and `kind` as written in a manifest, or undefined. */
  byApiVersionKind(apiVersion: string, kind: string): KindInfo | undefined {
    return this.kinds.find((k) => k.apiVersion === apiVersion && k.kind === kind);
  }

  /** resolve finds a kind by any name a user may type (Instance, instances, instance, inst); throws NotFoundError. */
  resolve(name: string): KindInfo {
    const n = name.toLowerCase();
    const dot = n.indexOf('.');
    const base = dot >= 0 ? n.slice(0, dot) : n;
    const group = dot >= 0 ? n.slice(dot + 1) : undefined;
    const found = this.kinds.find(
      (k) =>
        (group === undefined || k.group === group) &&
        (k.plural === base || k.singular === base || k.kind.toLowerCase() === base || k.shortNames.includes(base)),
    );
    if (!found) {
      const known = this.kinds.map((k) => k.plural).join(', ');
      throw new NotFoundError(`the server doesn't have a resource type "${name}" (known: ${known})`);
    }
    return found;
  }
}
