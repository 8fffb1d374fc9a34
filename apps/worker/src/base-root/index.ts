// Base roots of the worker's builds: debootstrap trees per (suite, arch), cached on the host, and
// the apt mirror read from the host's sources. Worker-only, so they live here, not in a lib.
export * from './errors.js';
export { hostAptMirror, readAptSources, pickDebianMirror } from './apt-sources.js';
export type { AptSource } from './apt-sources.js';
export {
  DEFAULT_CACHE_DIR,
  FALLBACK_MIRROR,
  baseRootDir,
  ensureBaseRoot,
  packBaseRoot,
  readBaseRoot,
  unpackBaseRoot,
} from './rootfs.js';
export { shiftOwners, shiftedBaseRoot } from './shifted.js';
export type { BaseRoot, BaseRootMeta, BaseRootSpec, EnsureBaseRootOptions } from './rootfs.js';
