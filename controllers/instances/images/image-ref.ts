/**
 * Image references as users write them in `spec.image`: `busybox`,
 * `debian/<suite>`, or `file:///path/rootfs.tar.gz`.
 */
import { ValidationError } from '../../../lib/errors.js';

/** ImageRef is a parsed image reference. */
export type ImageRef = { kind: 'busybox' } | { kind: 'debian'; suite: string } | { kind: 'file'; path: string };

/** parseImageRef parses `spec.image`; anything else throws ValidationError naming `spec.image`. */
export function parseImageRef(ref: string): ImageRef {
  if (ref === 'busybox') return { kind: 'busybox' };
  const debian = /^debian\/([a-z]+)$/.exec(ref);
  if (debian?.[1]) return { kind: 'debian', suite: debian[1] };
  if (ref.startsWith('file:///')) {
    const path = decodeURIComponent(ref.slice('file://'.length));
    if (!path.split('/').includes('..')) return { kind: 'file', path };
  }
  throw new ValidationError(`spec.image: "${ref}" is not an image (use busybox, debian/<suite> or file:///path/rootfs.tar.gz)`, [
    { field: 'spec.image', message: `"${ref}" is not a supported image reference` },
  ]);
}

/** imageRefString renders a parsed reference back to its `spec.image` form. */
export function imageRefString(ref: ImageRef): string {
  if (ref.kind === 'busybox') return 'busybox';
  if (ref.kind === 'debian') return `debian/${ref.suite}`;
  return `file://${ref.path}`;
}
