/**
 * Documents the farm keeps in the object store: the per-arch artifact manifest (written last,
 * after the archive) and the runtime index entry (written when every requested arch succeeded).
 * API, worker and agent all read them through these schemas.
 */
import { z } from 'zod';
import { RuntimeYml } from '../runtime-yml.js';
import { ArchName, ArtifactInfo } from './build.js';

/**
 * One signature of a manifest (see signing/manifest-signature.ts for what is signed). Loose on
 * purpose: a malformed or unknown signature is refused by verification, naming it, rather than
 * making the whole manifest unreadable.
 */
export const ManifestSignature = z.object({
  /** `ed25519`; others are not verified. */
  alg: z.string().max(32),
  /** Hex sha256 of the signing key's public key (SPKI DER). */
  keyId: z.string().max(128),
  /** The signature, base64. */
  sig: z.string().max(512),
});
export type ManifestSignature = z.infer<typeof ManifestSignature>;

/** `runtimes/<name>/<version>/<arch>/manifest.json` */
export const ArtifactManifest = z.object({
  schema: z.literal(1),
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  buildKey: z.string(),
  builderVersion: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  treeHash: z.string(),
  treeBytes: z.number().int().nonnegative(),
  builtAt: z.string(),
  runtimeYml: RuntimeYml,
  /**
   * Added by the publisher when it promotes the artifact (the staged manifest has none); agents
   * install only artifacts with a valid signature by a key they trust. Several during a key
   * rotation.
   */
  signatures: z.array(ManifestSignature).max(16).optional(),
});
export type ArtifactManifest = z.infer<typeof ArtifactManifest>;

/** One arch of an index entry: where its artifact is and what its runtime.yml says. */
export const IndexArch = ArtifactInfo.extend({ runtimeYml: RuntimeYml });
export type IndexArch = z.infer<typeof IndexArch>;

/** `index/<name>/<version>.json` */
export const RuntimeIndexEntry = z.object({
  schema: z.literal(1),
  name: z.string(),
  version: z.string(),
  description: z.string().optional(),
  language: z.string(),
  languageVersion: z.string(),
  publishedAt: z.string(),
  buildId: z.string(),
  arches: z.partialRecord(ArchName, IndexArch),
});
export type RuntimeIndexEntry = z.infer<typeof RuntimeIndexEntry>;

/** `builds/<buildKey>.json`: which published artifact a build key produced. */
export const BuildPointer = z.object({
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  manifestKey: z.string(),
});
export type BuildPointer = z.infer<typeof BuildPointer>;
