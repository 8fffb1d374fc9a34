/**
 * The one error a build step throws: a {@link BuildError} code, a message naming what failed,
 * the tail of the failing command's output, and whether another attempt may succeed.
 */
import { type BuildError, type BuildErrorCode } from '@joblet/spec';

export class BuildFailure extends Error {
  override readonly name = 'BuildFailure';

  constructor(
    readonly code: BuildErrorCode,
    message: string,
    readonly opts: { details?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
  }

  /** True when the same build may succeed on another attempt (mirror, network, store). */
  get retryable(): boolean {
    return this.opts.retryable ?? false;
  }

  toData(): BuildError {
    return {
      code: this.code,
      message: this.message,
      ...(this.opts.details ? { details: this.opts.details } : {}),
    };
  }
}

/** Any thrown value as a BuildFailure: unknown errors are INTERNAL and worth another attempt. */
export function asBuildFailure(err: unknown): BuildFailure {
  if (err instanceof BuildFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BuildFailure('INTERNAL', `internal error: ${message}`, {
    retryable: true,
    cause: err,
  });
}

/** The last `maxLines` lines (and at most `maxChars` characters) of command output. */
export function outputTail(text: string, maxLines = 40, maxChars = 8192): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  const tail = lines.slice(-maxLines).join('\n');
  return tail.length > maxChars ? tail.slice(-maxChars) : tail;
}
