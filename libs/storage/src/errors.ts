/** Every failure code a store can raise; callers switch on these, never on messages. */
export const StorageErrorCode = {
  /** A key, prefix or layout segment is outside the key grammar (see key.ts). */
  BAD_KEY: 'BAD_KEY',
  /** A storage URL or option could not be understood. */
  BAD_CONFIG: 'BAD_CONFIG',
  NOT_FOUND: 'NOT_FOUND',
  /** A body or object is larger than the `maxBytes` the caller allowed. */
  TOO_LARGE: 'TOO_LARGE',
  /** The bytes received do not hash to the `expectedSha256` the caller gave. */
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  /** The key collides with a directory (or a file where a directory is needed) in the dir backend. */
  CONFLICT: 'CONFLICT',
  /** Credentials or file permissions do not allow the operation. */
  ACCESS_DENIED: 'ACCESS_DENIED',
  /** The configured bucket does not exist (and `ensureReady` was not run or could not create it). */
  NO_BUCKET: 'NO_BUCKET',
  /** The backend could not be reached or answered 5xx; retryable. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The backend stopped answering for longer than the request timeout; retryable. */
  TIMEOUT: 'TIMEOUT',
  /** A JSON object could not be parsed. */
  INVALID_JSON: 'INVALID_JSON',
  /** Any other backend or file-system failure. */
  IO: 'IO',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export interface StorageErrorOptions {
  cause?: unknown;
  /** True when the same call may succeed later (network trouble, 5xx, throttling). */
  retryable?: boolean;
  /** The store key concerned, when there is one. */
  key?: string;
}

/** The one error type the storage library throws. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly retryable: boolean;
  readonly key: string | undefined;

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.key = options.key;
  }
}

/** True for a StorageError, optionally of the given code. */
export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

/** True when `err` is a StorageError marked retryable (see `withRetry`). */
export function isRetryableError(err: unknown): boolean {
  return err instanceof StorageError && err.retryable;
}
