/**
 * Loading manifests for apply and delete: files, directories and stdin, each
 * holding one or more YAML (or JSON) documents. Every error names the file,
 * the 1-based document index and, for syntax errors, the line and column.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BadRequestError, NotFoundError } from '../../lib/errors.js';

/** ManifestSource is the text of one input with the name errors use (the path as given, or `<stdin>`). */
export interface ManifestSource {
  name: string;
  text: string;
}

/** ManifestDoc is one object read from a source; `index` is its 1-based document number in that source. */
export interface ManifestDoc {
  source: string;
  index: number;
  object: Record<string, unknown>;
}

/** MANIFEST_EXTENSIONS are the file endings a directory is scanned for. */
export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/** docLabel names a document in messages: `web.yaml: document 2`. */
export function docLabel(doc: { source: string; index: number }): string {
  return `${doc.source}: document ${doc.index}`;
}

/**
 * readManifestSources expands each `-f` argument: `-` is stdin (read through
 * `readStdin`), a directory is every *.yaml, *.yml and *.json in it sorted by
 * name, anything else a file. Throws NotFoundError for a missing path.
 */
export function readManifestSources(args: string[], readStdin: () => string): ManifestSource[] {
  const out: ManifestSource[] = [];
  for (const arg of args) {
    if (arg === '-') {
      out.push({ name: '<stdin>', text: readStdin() });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(arg).isDirectory();
    } catch (err) {
      throw new NotFoundError(`the path "${arg}" does not exist`, { cause: err });
    }
    if (!isDir) {
      out.push({ name: arg, text: readFileSync(arg, 'utf8') });
      continue;
    }
    const files = readdirSync(arg)
      .filter((f) => MANIFEST_EXTENSIONS.some((ext) => f.endsWith(ext)))
      .sort();
    for (const f of files) {
      const path = join(arg, f);
      if (statSync(path).isFile()) out.push({ name: path, text: readFileSync(path, 'utf8') });
    }
  }
  return out;
}

/**
 * parseManifests parses every document of `src`. Empty documents are
 * skipped (they still count for numbering); a `kind: List` expands to its
 * items. Throws BadRequestError `FILE: document N, line L, column C: message`
 * on the first syntax error, or `FILE: document N: ...` when a document is
 * not an object.
 */
export function parseManifests(src: ManifestSource): ManifestDoc[] {
  const docs = parseAllDocuments(src.text, { prettyErrors: true });
  if (!Array.isArray(docs)) return [];
  const out: ManifestDoc[] = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0];
      const where = pos ? `, line ${pos.line}, column ${pos.col}` : '';
      throw new BadRequestError(`${src.name}: document ${index}${where}: ${bareMessage(error.message)}`, { cause: error });
    }
    if (doc.contents === null) return;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new BadRequestError(
        `${src.name}: document ${index}: expected an object with apiVersion and kind, got ${Array.isArray(value) ? 'a list' : typeof value}`,
      );
    }
    const obj = value as Record<string, unknown>;
    if (obj.kind === 'List' && Array.isArray(obj.items)) {
      for (const item of obj.items) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) {
          throw new BadRequestError(`${src.name}: document ${index}: every item of a List must be an object`);
        }
        out.push({ source: src.name, index, object: item as Record<string, unknown> });
      }
      return;
    }
    out.push({ source: src.name, index, object: obj });
  });
  return out;
}

/** loadManifests reads and parses every source; see readManifestSources and parseManifests. */
export function loadManifests(args: string[], readStdin: () => string): ManifestDoc[] {
  return readManifestSources(args, readStdin).flatMap(parseManifests);
}

/** bareMessage drops the position and the source excerpt the yaml package appends. */
function bareMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?\s*$/, '').trim();
}
