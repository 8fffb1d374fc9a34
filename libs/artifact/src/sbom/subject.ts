/** The runtime artifact an SBOM or provenance statement is about. */
export interface ArtifactSubject {
  name: string;
  version: string;
  arch: string;
  /** Hex sha256 of `runtime.tar.zst`. */
  sha256: string;
  /** The tree hash of the packed tree (`sha256:…`, see tree-hash.ts). */
  treeHash: string;
  buildKey: string;
  /** ISO time the runtime was built. */
  builtAt: string;
  builderVersion: string;
}

/** The tool name SBOMs and provenance give as their creator. */
export const SBOM_TOOL = 'joblet-runtime-farm';

/** `pkg:generic/joblet-runtime/<name>@<version>?arch=…`: the runtime itself. */
export function runtimePurl(s: Pick<ArtifactSubject, 'name' | 'version' | 'arch'>): string {
  return `pkg:generic/joblet-runtime/${encodeURIComponent(s.name)}@${encodeURIComponent(s.version)}?arch=${encodeURIComponent(s.arch)}`;
}
