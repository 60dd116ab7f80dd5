/**
 * Resource discovery for the CLI: which kinds the server serves, their
 * plural/singular/short names and scope. Read from the server's aggregated
 * discovery (`/api` and `/apis`), or legacy discovery, so the CLI works
 * against any member; when the server cannot be asked, the local CRDs
 * (KindRegistry) stand in.
 */
import { NotFoundError } from '../../lib/errors.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { ApiClient } from './api-client.js';

/** ResourceInfo is one served resource as the CLI needs it. */
export interface ResourceInfo {
  /** '' for the core group */
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** `group/version`, or `version` for core */
  apiVersion: string;
}

/** AGGREGATED_ACCEPT asks for aggregated discovery (v2, then v2beta1), else legacy JSON. */
export const AGGREGATED_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

/** resourceRef names a resource the way kubectl prints it: `instance.cloudlet.dev`, or `event` for core. */
export function resourceRef(r: ResourceInfo): string {
  return r.group ? `${r.singular}.${r.group}` : r.singular;
}

/** resourcePath is the URL path of a collection or object; `namespace` undefined on a namespaced kind = all namespaces. */
export function resourcePath(r: ResourceInfo, opts: { namespace?: string; name?: string } = {}): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && opts.namespace ? `/namespaces/${encodeURIComponent(opts.namespace)}` : '';
  const name = opts.name !== undefined ? `/${encodeURIComponent(opts.name)}` : '';
  return `${base}${ns}/${r.plural}${name}`;
}

/** fromKindInfo converts a local registry entry. */
export function fromKindInfo(k: KindInfo): ResourceInfo {
  return {
    group: k.group,
    version: k.version,
    kind: k.kind,
    plural: k.plural,
    singular: k.singular,
    shortNames: [...k.shortNames],
    namespaced: k.namespaced,
    apiVersion: k.apiVersion,
  };
}

/** ResourceCatalog resolves what users type (plural, singular, Kind, short name, `plural.group`) to a ResourceInfo. */
export class ResourceCatalog {
  constructor(
    private readonly resources: ResourceInfo[],
    /** where the list came from, for messages */
    readonly source: 'server' | 'local',
  ) {}

  /** ResourceCatalog.discover asks the server; if that fails for any reason, it falls back to the local CRDs. */
  static async discover(client: ApiClient): Promise<ResourceCatalog> {
    try {
      const resources = [...(await discoverGroup(client, '/api')), ...(await discoverGroup(client, '/apis'))];
      if (resources.length > 0) return new ResourceCatalog(resources, 'server');
    } catch {
      // The server is unreachable or serves no discovery: the local CRDs describe the same kinds.
    }
    return ResourceCatalog.local();
  }

  /** ResourceCatalog.local builds the catalogue from the project's crds/ (plus core Event). */
  static async local(): Promise<ResourceCatalog> {
    const { KindRegistry } = await import('../../lib/kinds/registry.js');
    return new ResourceCatalog(KindRegistry.load().all().map(fromKindInfo), 'local');
  }

  /** all lists every known resource. */
  all(): readonly ResourceInfo[] {
    return this.resources;
  }

  /** resolve finds a resource by any name a user may type; throws NotFoundError like kubectl's message. */
  resolve(name: string): ResourceInfo {
    const n = name.toLowerCase();
    const dot = n.indexOf('.');
    const base = dot >= 0 ? n.slice(0, dot) : n;
    const group = dot >= 0 ? n.slice(dot + 1) : undefined;
    const matches = (r: ResourceInfo): boolean =>
      (group === undefined || r.group === group) &&
      (r.plural === base || r.singular === base || r.kind.toLowerCase() === base || r.shortNames.includes(base));
    const found = this.resources.find(matches);
    if (!found) throw new NotFoundError(`the server doesn't have a resource type "${name}"`);
    return found;
  }

  /** byApiVersionKind finds the resource for a manifest's apiVersion and kind, or undefined. */
  byApiVersionKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.resources.find((r) => r.apiVersion === apiVersion && r.kind === kind);
  }
}

interface AggregatedList {
  kind?: string;
  items?: Array<{
    metadata?: { name?: string };
    versions?: Array<{
      version?: string;
      freshness?: string;
      resources?: Array<{
        resource?: string;
        singularResource?: string;
        scope?: string;
        responseKind?: { kind?: string };
        shortNames?: string[];
      }>;
    }>;
  }>;
}

interface LegacyGroupList {
  kind?: string;
  groups?: Array<{ name?: string; preferredVersion?: { version?: string }; versions?: Array<{ version?: string }> }>;
  versions?: string[];
}

interface LegacyResourceList {
  resources?: Array<{ name?: string; singularName?: string; namespaced?: boolean; kind?: string; shortNames?: string[] }>;
}

async function discoverGroup(client: ApiClient, path: '/api' | '/apis'): Promise<ResourceInfo[]> {
  let body: AggregatedList & LegacyGroupList;
  try {
    body = await client.request<AggregatedList & LegacyGroupList>({ path, accept: AGGREGATED_ACCEPT });
  } catch (err) {
    // A server without the core group answers 404 on /api; that is fine.
    if (path === '/api') return [];
    throw err;
  }
  if (body.kind === 'APIGroupDiscoveryList') return fromAggregated(body, path === '/api');
  if (path === '/api') {
    const out: ResourceInfo[] = [];
    for (const v of body.versions ?? []) out.push(...(await legacyResources(client, '', v)));
    return out;
  }
  const out: ResourceInfo[] = [];
  for (const g of body.groups ?? []) {
    const v = g.preferredVersion?.version ?? g.versions?.[0]?.version;
    if (g.name && v) out.push(...(await legacyResources(client, g.name, v)));
  }
  return out;
}

function fromAggregated(list: AggregatedList, core: boolean): ResourceInfo[] {
  const out: ResourceInfo[] = [];
  for (const item of list.items ?? []) {
    const group = core ? '' : (item.metadata?.name ?? '');
    // The first listed version is the preferred one.
    const version = (item.versions ?? []).find((v) => v.freshness !== 'Stale');
    if (!version?.version) continue;
    for (const r of version.resources ?? []) {
      const kind = r.responseKind?.kind;
      if (!r.resource || !kind || r.resource.includes('/')) continue;
      out.push({
        group,
        version: version.version,
        kind,
        plural: r.resource,
        singular: r.singularResource || kind.toLowerCase(),
        shortNames: r.shortNames ?? [],
        namespaced: r.scope === 'Namespaced',
        apiVersion: group ? `${group}/${version.version}` : version.version,
      });
    }
  }
  return out;
}

async function legacyResources(client: ApiClient, group: string, version: string): Promise<ResourceInfo[]> {
  const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const list = await client.request<LegacyResourceList>({ path });
  return (list.resources ?? [])
    .filter((r) => r.name && r.kind && !r.name.includes('/'))
    .map((r) => ({
      group,
      version,
      kind: r.kind ?? '',
      plural: r.name ?? '',
      singular: r.singularName || (r.kind ?? '').toLowerCase(),
      shortNames: r.shortNames ?? [],
      namespaced: r.namespaced === true,
      apiVersion: group ? `${group}/${version}` : version,
    }));
}
