/**
 * A stand-in for the daemon in the image build tests: it builds one image
 * with the real ImageStore and waits; the test SIGKILLs it mid-build.
 * Usage: node build-child.js IMAGES_DIR FILE_IMAGES_DIR IMAGE_REF
 */
import { ImageStore } from '../../../controllers/instances/images/image-store.js';

const [imagesDir, fileImagesDir, ref] = process.argv.slice(2);
if (!imagesDir || !fileImagesDir || !ref) throw new Error('usage: build-child.js IMAGES_DIR FILE_IMAGES_DIR IMAGE_REF');
const store = new ImageStore({ imagesDir, fileImagesDir, limits: { timeoutMs: 10 * 60_000, maxBytes: 2 ** 40, pollMs: 1000 } });
await store.ensure(ref);
