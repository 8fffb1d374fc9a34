// minio-js reports failures in four shapes: Node socket errors (code ECONNREFUSED...), our idle
// timeout (code ETIMEDOUT, see timeout.agent.ts), a plain Error "Request failed after N retries:
// Error: Retryable HTTP status: 503" for 408/429/5xx answers, and S3Error with S3's error code.
// This maps all of them to StorageError, marking the transient ones retryable.
import { StorageError, type StorageErrorCode } from './errors.js';

/** Socket-level failures worth retrying: the server may come back or the path may heal. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** S3 error codes by what they mean for the caller. */
const S3_CODES: Record<string, { code: StorageErrorCode; retryable?: boolean }> = {
  NoSuchKey: { code: 'NOT_FOUND' },
  NotFound: { code: 'NOT_FOUND' },
  NoSuchBucket: { code: 'NO_BUCKET' },
  AccessDenied: { code: 'ACCESS_DENIED' },
  AllAccessDisabled: { code: 'ACCESS_DENIED' },
  InvalidAccessKeyId: { code: 'ACCESS_DENIED' },
  SignatureDoesNotMatch: { code: 'ACCESS_DENIED' },
  ExpiredToken: { code: 'ACCESS_DENIED' },
  InvalidToken: { code: 'ACCESS_DENIED' },
  EntityTooLarge: { code: 'TOO_LARGE' },
  SlowDown: { code: 'UNAVAILABLE', retryable: true },
  ServiceUnavailable: { code: 'UNAVAILABLE', retryable: true },
  InternalError: { code: 'UNAVAILABLE', retryable: true },
  OperationAborted: { code: 'UNAVAILABLE', retryable: true },
  RequestTimeout: { code: 'TIMEOUT', retryable: true },
  XMinioServerNotInitialized: { code: 'UNAVAILABLE', retryable: true },
};

const RETRYABLE_STATUS = /Retryable HTTP status: (\d{3})/;

/**
 * Maps anything minio-js threw to a StorageError (StorageErrors pass through unchanged).
 * @param what - what was being done, for the message: "put runtimes/x/..."
 */
export function s3StorageError(err: unknown, what: string, key?: string): StorageError {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const make = (code: StorageErrorCode, detail: string, retryable = false) =>
    new StorageError(code, `${what} failed: ${detail}`, { cause: err, retryable, key });

  const sysCode = socketErrorCode(err);
  if (sysCode === 'ETIMEDOUT') return make('TIMEOUT', `no answer from S3 (${message})`, true);
  if (sysCode !== undefined && NETWORK_CODES.has(sysCode)) {
    return make('UNAVAILABLE', `cannot reach S3 (${sysCode}: ${message})`, true);
  }
  const status = RETRYABLE_STATUS.exec(message)?.[1];
  if (status !== undefined) {
    return make(status === '408' ? 'TIMEOUT' : 'UNAVAILABLE', `S3 answered HTTP ${status}`, true);
  }
  const s3Code = (err as { code?: unknown } | undefined)?.code;
  if (typeof s3Code === 'string' && s3Code in S3_CODES) {
    const mapped = S3_CODES[s3Code];
    if (mapped) return make(mapped.code, `${s3Code}: ${message}`, mapped.retryable);
  }
  return make('IO', typeof s3Code === 'string' && s3Code ? `${s3Code}: ${message}` : message);
}

/** The errno-style code of a socket error, looking inside AggregateError (happy eyeballs). */
function socketErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code === 'ETIMEDOUT')) return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const innerCode = socketErrorCode(inner);
      if (innerCode !== undefined) return innerCode;
    }
  }
  return undefined;
}
