import { EXIT } from './exit-codes.js';

/** An error whose message is meant for the user, with the exit code it maps to. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILED,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bad flags or arguments, a missing file: exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.USAGE, options);
  }
}

/** The server could not be reached or misbehaved: exit code 3. */
export class ServerUnavailableError extends CliError {
  override name = 'ServerUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.UNAVAILABLE, options);
  }
}
