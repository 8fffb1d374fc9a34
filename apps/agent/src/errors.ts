// Error classes and codes of the agent. Every code a caller switches on is a constant here.
import { InstallFailureCode, type InstallFailureData } from '@joblet/spec';

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
 * Why an install failed: the codes are the farm's contract (`@joblet/spec`), so what a node
 * reports is what `rnx runtime info` shows. The message is what an operator needs (which
 * checksum, which entry, how much disk).
 */
export { InstallFailureCode };

/** Failures worth retrying later without a new publish: the cause may go away by itself. */
const RETRYABLE: ReadonlySet<InstallFailureCode> = new Set<InstallFailureCode>([
  InstallFailureCode.NoDisk,
  InstallFailureCode.StoreFailed,
  InstallFailureCode.ExtractFailed,
]);

export class InstallFailure extends Error {
  override readonly name = 'InstallFailure';
  /** The offending entry or the key ids involved, for the node's report. */
  readonly details: InstallFailureData['details'];

  constructor(
    message: string,
    readonly code: InstallFailureCode,
    options?: ErrorOptions & { details?: InstallFailureData['details'] },
  ) {
    super(message, options);
    this.details = options?.details;
  }

  /** As reported to the farm (NodeRuntimeStatus.failure). */
  toData(): InstallFailureData {
    return {
      code: this.code,
      message: this.message,
      ...(this.details !== undefined && { details: this.details }),
    };
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}
