// Error classes and codes of the agent. Every code a caller switches on is a constant here.

/** Codes of {@link AgentError}: failures of agent APIs used inside the process. */
export const AgentErrorCode = {
  /** A runtime name, version or lease holder is not one the agent accepts. */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** `<name>/<version>/runtime.yml` is not on this node. */
  RuntimeNotInstalled: 'RUNTIME_NOT_INSTALLED',
  /** The runtime is being removed: no new lease is given out. */
  RuntimeRemoving: 'RUNTIME_REMOVING',
  /** The installed runtime.yml does not parse or does not fit the sandbox. */
  InvalidRuntime: 'INVALID_RUNTIME',
  /** bubblewrap could not set the sandbox up (a mount failed, ...): the command never ran. */
  SandboxSetupFailed: 'SANDBOX_SETUP_FAILED',
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    message: string,
    readonly code: AgentErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Why an install failed. The message is what a node reports in `NodeRuntimeStatus.error`, so it
 * says what an operator needs (which checksum, which entry, how much disk).
 */
export const InstallFailureCode = {
  /** The index entry or manifest is missing, invalid, or they disagree. */
  BadManifest: 'BAD_MANIFEST',
  /**
   * The manifest has no valid signature by a key in AGENT_TRUSTED_KEYS: unsigned, signed by an
   * unknown key, or changed after signing (even when its checksums match the archive).
   */
  BadSignature: 'BAD_SIGNATURE',
  /** The archive's sha256 is not the manifest's (tampered or corrupted in the store). */
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  /** The extracted tree's hash is not the manifest's. */
  TreeHashMismatch: 'TREE_HASH_MISMATCH',
  /** An archive member is unsafe (absolute, `..`, device node, setuid, escaping link). */
  UnsafeEntry: 'UNSAFE_ENTRY',
  /** Larger than AGENT_MAX_ARTIFACT_MB. */
  TooLarge: 'TOO_LARGE',
  /** The install would leave less free disk than AGENT_MIN_FREE_MB. */
  NoDisk: 'NO_DISK',
  /** The archive does not hold a runtime: runtime.yml missing, invalid or for another runtime. */
  InvalidRuntime: 'INVALID_RUNTIME',
  /** The store could not be read (network, permissions). */
  StoreFailed: 'STORE_FAILED',
  /** tar/zstd or the file system failed (corrupt archive, disk full, ...). */
  ExtractFailed: 'EXTRACT_FAILED',
} as const;
export type InstallFailureCode = (typeof InstallFailureCode)[keyof typeof InstallFailureCode];

/** Failures worth retrying later without a new publish: the cause may go away by itself. */
const RETRYABLE: ReadonlySet<InstallFailureCode> = new Set<InstallFailureCode>([
  InstallFailureCode.NoDisk,
  InstallFailureCode.StoreFailed,
  InstallFailureCode.ExtractFailed,
]);

export class InstallFailure extends Error {
  override readonly name = 'InstallFailure';
  constructor(
    message: string,
    readonly code: InstallFailureCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}
