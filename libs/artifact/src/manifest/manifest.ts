/**
 * The per-arch artifact manifest the farm keeps in the object store
 * (`runtimes/<name>/<version>/<arch>/manifest.json`, written last, after the archive). The
 * worker's publisher writes and signs it; agents verify it before they download.
 */
import { ArchName, RuntimeYml } from '@joblet/spec';
import { z } from 'zod';

/**
 * One signature of a manifest (see manifest-signature.ts for what is signed). Loose on
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

/**
 * Documents stored beside an artifact, by kind, with their file names in the artifact's
 * directory: the SBOM in two formats and the signed provenance (a DSSE envelope).
 */
export const ATTACHMENT_FILES = {
  'sbom-spdx': 'sbom.spdx.json',
  'sbom-cyclonedx': 'sbom.cdx.json',
  provenance: 'provenance.dsse.json',
} as const;
export type AttachmentKind = keyof typeof ATTACHMENT_FILES;
export const ATTACHMENT_KINDS = Object.keys(ATTACHMENT_FILES) as [
  AttachmentKind,
  ...AttachmentKind[],
];

/** One document beside the artifact; its sha256 is covered by the manifest's signature. */
export const ManifestAttachment = z.object({
  kind: z.enum(ATTACHMENT_KINDS),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
export type ManifestAttachment = z.infer<typeof ManifestAttachment>;

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
  /** SBOMs and provenance beside the archive (manifests of older builds have none). */
  attachments: z.array(ManifestAttachment).max(8).optional(),
  /**
   * Added by the publisher when it promotes the artifact (the staged manifest has none); agents
   * install only artifacts with a valid signature by a key they trust. Several during a key
   * rotation.
   */
  signatures: z.array(ManifestSignature).max(16).optional(),
});
export type ArtifactManifest = z.infer<typeof ArtifactManifest>;
