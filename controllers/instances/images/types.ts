/**
 * Types shared by the image store and the root filesystem providers.
 */
import type { ContainerDistro } from '../runtimes/types.js';

/** ImageProgressPhase is a step of an image build. */
export type ImageProgressPhase =
  'preparing' | 'downloading' | 'extracting' | 'installing' | 'configuring' | 'finishing' | 'ready' | 'warning' | 'failed';

/** ImageProgress is one progress report of an image build (for status.imageProgress and Events). */
export interface ImageProgress {
  image: string;
  phase: ImageProgressPhase;
  message: string;
  /** packages retrieved so far (debian builds) */
  packages?: number;
}

/** ImageInfo describes a cached image ready to clone. */
export interface ImageInfo {
  /** ref is the `spec.image` string */
  ref: string;
  /** name is the cache directory name under the images dir */
  name: string;
  /** rootfsPath is the cached root filesystem; never modify it, clone it */
  rootfsPath: string;
  distro: ContainerDistro;
  /** haltSignal asks this image's init for a clean shutdown */
  haltSignal: string;
  builtAt: string;
}
