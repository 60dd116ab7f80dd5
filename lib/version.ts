/**
 * VERSION is Cloudlet's version, read once from package.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './kinds/registry.js';

/** VERSION is the version string of this Cloudlet build (package.json `version`). */
export const VERSION: string = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
