// @joblet/artifact: the artifact format the worker writes and the agent reads — deterministic
// tar.zst packing of normalised runtime trees, the content tree hash, safe extraction (and the
// listing and tree checks behind it), safe file operations on extracted trees, and the signed
// per-arch artifact manifest with its SBOMs and signed provenance.
export * from './errors.js';
export { packTree } from './pack.js';
export type { PackOptions, PackResult } from './pack.js';
export { treeHash, hashFile } from './tree-hash.js';
export type { TreeHashOptions } from './tree-hash.js';
export { walkTree } from './tree-walk.js';
export type {
  TreeEntry,
  TreeEntryType,
  TreeFilter,
  TreeWalk,
  SkippedEntry,
  SpecialEntryKind,
} from './tree-walk.js';
export { safeExtract, cleanupStaging, STAGING_INFIX } from './extract.js';
export type { ExtractOptions, ExtractResult } from './extract.js';
export { ListingChecker, parseListingLine } from './tar-listing.js';
export type { EntryViolation, ListedEntry, SymlinkPolicy, TreeRules } from './tar-listing.js';
export { checkTree } from './tree-check.js';
export {
  SCRATCH_DIR_MODE,
  STRIPPED_MODE_BITS,
  emptyNormaliseReport,
  isScratchDir,
  normaliseScratchDirs,
  type NormaliseFinding,
  type NormaliseReport,
} from './tree-normalise.js';
export { removeTree, unmountUnder } from './fs-safe.js';
export {
  ATTACHMENT_FILES,
  ATTACHMENT_KINDS,
  ArtifactManifest,
  ManifestAttachment,
  ManifestSignature,
  type AttachmentKind,
} from './manifest/manifest.js';
export {
  SIGNATURE_ALG,
  generateSigningKeyPair,
  keyIdOf,
  parseSigningKey,
  parseTrustedKey,
  readSigningKeyFile,
  readTrustedKeyFile,
  type GeneratedKeyPair,
  type SigningKey,
  type TrustedKey,
} from './manifest/signing-keys.js';
export {
  MANIFEST_SIGNATURE_TYPE,
  MANIFEST_SIGNATURE_TYPE_V2,
  manifestSigningPayload,
  shortKeyId,
  signManifest,
  verifyManifestSignatures,
  withManifestSignatures,
  type ManifestVerification,
  type SignedManifestFields,
} from './manifest/manifest-signature.js';
export * from './sbom/index.js';
export * from './provenance/index.js';
