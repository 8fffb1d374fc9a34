/** Exit codes of every `rnx` command, documented in the README. */
export const EXIT = {
  /** Success (for validate: the spec is valid). */
  OK: 0,
  /** The thing asked about failed (invalid spec, failed build, job exit code ≠ 0 is passed through). */
  FAILED: 1,
  /** Usage error: bad flags, missing or unreadable file. */
  USAGE: 2,
  /** The configured server could not be reached or answered with an unexpected error. */
  UNAVAILABLE: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
