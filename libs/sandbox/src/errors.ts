// Error classes of @joblet/sandbox (the artifact format's are in @joblet/artifact). Every code a
// caller may switch on is a constant here, so no call site compares against a bare string literal.

/** Codes of {@link CommandError}. */
export const CommandErrorCode = {
  /** The process exited with a non-zero code or was killed by a signal. */
  Failed: 'COMMAND_FAILED',
  /** The process ran past its timeout and its process group was killed. */
  TimedOut: 'COMMAND_TIMED_OUT',
  /** The caller's AbortSignal fired and the process group was killed. */
  Aborted: 'COMMAND_ABORTED',
  /** The executable could not be started at all (ENOENT, EACCES, ...). */
  SpawnFailed: 'SPAWN_FAILED',
} as const;
export type CommandErrorCode = (typeof CommandErrorCode)[keyof typeof CommandErrorCode];

/** Codes of {@link LockError}. */
export const LockErrorCode = {
  /** The lock stayed held by a live owner past the wait timeout. */
  Timeout: 'LOCK_TIMEOUT',
  Aborted: 'LOCK_ABORTED',
} as const;
export type LockErrorCode = (typeof LockErrorCode)[keyof typeof LockErrorCode];

/** Codes of {@link SandboxError}. */
export const SandboxErrorCode = {
  /** A sandbox spec is invalid (relative path, bad env name, ...). Nothing was started. */
  InvalidSpec: 'SANDBOX_INVALID_SPEC',
  /** A resource limit this host cannot enforce (controller missing); the message names both. */
  LimitUnsupported: 'LIMIT_UNSUPPORTED',
  /** A resource limit out of range (memory below 4 MiB, a CPU not online, a bad device, ...). */
  LimitInvalid: 'LIMIT_INVALID',
  /** A cgroup with this name already exists (a leftover: see `CgroupManager.cleanupStale`). */
  CgroupExists: 'CGROUP_EXISTS',
  /** Creating, configuring, killing or removing a cgroup failed (the message names the file). */
  CgroupFailed: 'CGROUP_FAILED',
  /** A size-limited directory (an ext4 image, loop-mounted) could not be made or removed. */
  DiskFailed: 'DISK_FAILED',
  /** An egress sandbox's network could not be brought up (slirp4netns missing or failing). */
  NetworkFailed: 'SANDBOX_NETWORK_FAILED',
} as const;
export type SandboxErrorCode = (typeof SandboxErrorCode)[keyof typeof SandboxErrorCode];

/** A child process failed, timed out, was aborted or could not be spawned. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  /**
   * @param command - argv of the process (`[cmd, ...args]`).
   * @param exitCode - exit code, or null when it was killed by a signal or never started.
   * @param signal - the signal that ended it, if any.
   * @param stderrTail - the last few KiB of its stderr.
   */
  constructor(
    message: string,
    readonly code: CommandErrorCode,
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A file lock could not be taken. */
export class LockError extends Error {
  override readonly name = 'LockError';
  constructor(
    message: string,
    readonly code: LockErrorCode,
    readonly lockPath: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A sandbox could not be set up as specified. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  constructor(
    message: string,
    readonly code: SandboxErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
