// Where everything lives in the object store (ARCHITECTURE.md, "Builds"). Every key the farm
// writes is built here, from validated segments, so a runtime name or version can never smuggle
// a '/' or '..' into a key.
import { assertValidSegment } from './key.js';

/** Top-level prefixes of the store. */
export const StorePrefix = {
  /** Debootstrapped base root file systems, per (distro, suite, arch). */
  BASES: 'bases/',
  /** Built runtime artifacts and their manifests, per (name, version, arch). */
  RUNTIMES: 'runtimes/',
  /** Published runtime index entries: written last, when every arch of a version succeeded. */
  INDEX: 'index/',
  /** Build-key → artifact pointers, for answering a resubmission as cached. */
  BUILDS: 'builds/',
  /**
   * Artifacts of builds not yet published, per build id. The publisher copies them to
   * `runtimes/` (archive first, manifest last) only when every requested arch succeeded, so a
   * failed or forced rebuild never touches a published artifact; failures delete their staging.
   */
  STAGING: 'staging/',
  /**
   * Retention pins: an operator's "keep this version" (`rnx runtime pin`), one small JSON object
   * per pinned version. Kept in the store beside the index, so a pin lasts as long as the version.
   */
  PINS: 'pins/',
} as const;

/** File names inside an artifact directory. */
export const ArtifactFile = {
  BASE: 'base.tar.zst',
  RUNTIME: 'runtime.tar.zst',
  /** Written after the archive; its presence means the archive is complete and verified. */
  MANIFEST: 'manifest.json',
} as const;

function baseDir(distro: string, suite: string, arch: string): string {
  assertValidSegment(distro, 'distro');
  assertValidSegment(suite, 'suite');
  assertValidSegment(arch, 'architecture');
  return `${StorePrefix.BASES}${distro}/${suite}/${arch}/`;
}

function runtimeDir(name: string, version: string, arch: string): string {
  return `${runtimePrefix(name, version)}${checked(arch, 'architecture')}/`;
}

function checked(segment: string, what: string): string {
  assertValidSegment(segment, what);
  return segment;
}

/** `bases/<distro>/<suite>/<arch>/base.tar.zst`, e.g. `bases/debian/bookworm/amd64/base.tar.zst`. */
export function baseArchiveKey(distro: string, suite: string, arch: string): string {
  return baseDir(distro, suite, arch) + ArtifactFile.BASE;
}

/** `bases/<distro>/<suite>/<arch>/manifest.json` */
export function baseManifestKey(distro: string, suite: string, arch: string): string {
  return baseDir(distro, suite, arch) + ArtifactFile.MANIFEST;
}

/** `runtimes/<name>/<version>/<arch>/runtime.tar.zst` */
export function runtimeArchiveKey(name: string, version: string, arch: string): string {
  return runtimeDir(name, version, arch) + ArtifactFile.RUNTIME;
}

/** `runtimes/<name>/<version>/<arch>/manifest.json`; written after the archive. */
export function runtimeManifestKey(name: string, version: string, arch: string): string {
  return runtimeDir(name, version, arch) + ArtifactFile.MANIFEST;
}

/**
 * `runtimes/<name>/` or `runtimes/<name>/<version>/`: the prefix to list or delete every
 * artifact of a runtime or of one version.
 */
export function runtimePrefix(name: string, version?: string): string {
  const base = `${StorePrefix.RUNTIMES}${checked(name, 'runtime name')}/`;
  return version === undefined ? base : `${base}${checked(version, 'runtime version')}/`;
}

/** `index/<name>/<version>.json`: the published entry of one runtime version. */
export function indexKey(name: string, version: string): string {
  return `${indexPrefix(name)}${checked(version, 'runtime version')}.json`;
}

/** `index/` or `index/<name>/`: the prefix to list published versions. */
export function indexPrefix(name?: string): string {
  return name === undefined
    ? StorePrefix.INDEX
    : `${StorePrefix.INDEX}${checked(name, 'runtime name')}/`;
}

/** Reads `{ name, version }` back from an index key; undefined for any other key. */
export function parseIndexKey(key: string): { name: string; version: string } | undefined {
  const match = /^index\/([^/]+)\/([^/]+)\.json$/.exec(key);
  if (!match?.[1] || !match[2]) return undefined;
  return { name: match[1], version: match[2] };
}

/** `pins/<name>/<version>.json`: the retention pin of one runtime version. */
export function pinKey(name: string, version: string): string {
  return `${StorePrefix.PINS}${checked(name, 'runtime name')}/${checked(version, 'runtime version')}.json`;
}

/** Reads `{ name, version }` back from a pin key; undefined for any other key. */
export function parsePinKey(key: string): { name: string; version: string } | undefined {
  const match = /^pins\/([^/]+)\/([^/]+)\.json$/.exec(key);
  if (!match?.[1] || !match[2]) return undefined;
  return { name: match[1], version: match[2] };
}

/** `builds/<buildKey>.json`: points a build key (hex sha256) at the artifacts it produced. */
export function buildPointerKey(buildKey: string): string {
  return `${StorePrefix.BUILDS}${checked(buildKey, 'build key')}.json`;
}

/** `staging/<buildId>/`: everything a build uploaded before it is published. */
export function stagingPrefix(buildId: string): string {
  return `${StorePrefix.STAGING}${checked(buildId, 'build id')}/`;
}

/** `staging/<buildId>/<arch>/runtime.tar.zst` */
export function stagingArchiveKey(buildId: string, arch: string): string {
  return `${stagingPrefix(buildId)}${checked(arch, 'architecture')}/${ArtifactFile.RUNTIME}`;
}

/** `staging/<buildId>/<arch>/manifest.json` */
export function stagingManifestKey(buildId: string, arch: string): string {
  return `${stagingPrefix(buildId)}${checked(arch, 'architecture')}/${ArtifactFile.MANIFEST}`;
}

/**
 * `runtimes/<name>/<version>/<arch>/<file>`: a document beside the archive (SBOM, provenance;
 * file names in `ATTACHMENT_FILES` of @joblet/artifact), listed with its sha256 in the manifest.
 */
export function runtimeAttachmentKey(
  name: string,
  version: string,
  arch: string,
  file: string,
): string {
  return runtimeDir(name, version, arch) + checked(file, 'file name');
}

/** `staging/<buildId>/<arch>/<file>`: an attachment (or the unsigned statement) before publishing. */
export function stagingAttachmentKey(buildId: string, arch: string, file: string): string {
  return `${stagingPrefix(buildId)}${checked(arch, 'architecture')}/${checked(file, 'file name')}`;
}
