// Error classes of @joblet/artifact. Every code a caller may switch on is a constant here, so no
// call site compares against a bare string literal.

/** Codes of {@link PackError}. */
export const PackErrorCode = {
  /** tar or zstd failed; the message carries the tail of its stderr. */
  Failed: 'PACK_FAILED',
  /** The source is not a directory. */
  BadSource: 'PACK_BAD_SOURCE',
  Aborted: 'PACK_ABORTED',
} as const;
export type PackErrorCode = (typeof PackErrorCode)[keyof typeof PackErrorCode];

/** Codes of {@link ExtractError}. */
export const ExtractErrorCode = {
  /** The archive's sha256 differs from the expected one. Nothing was kept. */
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  /** An entry is unsafe (absolute, `..`, device, setuid, escaping link, ...). Nothing was kept. */
  UnsafeEntry: 'UNSAFE_ENTRY',
  /** The uncompressed stream exceeded `maxBytes`. Nothing was kept. */
  TooLarge: 'TOO_LARGE',
  /** zstd or `tar --list` could not read the archive. */
  CorruptArchive: 'CORRUPT_ARCHIVE',
  /** `tar --extract` failed (disk full, permissions, ...). */
  ExtractFailed: 'EXTRACT_FAILED',
  /** The destination already exists; extraction never replaces a tree. */
  DestinationExists: 'DEST_EXISTS',
  /** The extracted tree's content hash differs from the expected one. */
  TreeHashMismatch: 'TREE_HASH_MISMATCH',
  /** Reading the archive stream itself failed (network, disk): usually worth a retry. */
  SourceFailed: 'SOURCE_FAILED',
  Aborted: 'EXTRACT_ABORTED',
} as const;
export type ExtractErrorCode = (typeof ExtractErrorCode)[keyof typeof ExtractErrorCode];

/** Packing a tree into a tar.zst archive failed. */
export class PackError extends Error {
  override readonly name = 'PackError';
  constructor(
    message: string,
    readonly code: PackErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An archive was refused or could not be extracted; the staging directory is already gone. */
export class ExtractError extends Error {
  override readonly name = 'ExtractError';
  /** @param entry - the offending archive entry (as tar names it), when one is to blame. */
  constructor(
    message: string,
    readonly code: ExtractErrorCode,
    readonly entry?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
