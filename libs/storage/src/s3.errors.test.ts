import { S3Error } from 'minio';
import { describe, expect, it } from 'vitest';

import { StorageError } from './errors.js';
import { s3StorageError } from './s3.errors.js';

function s3Error(code: string): S3Error {
  return Object.assign(new S3Error(`${code} happened`), { code });
}

describe('s3StorageError', () => {
  it.each([
    [
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'UNAVAILABLE',
      true,
    ],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'UNAVAILABLE', true],
    [Object.assign(new Error('idle'), { code: 'ETIMEDOUT' }), 'TIMEOUT', true],
    [
      new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'all failed'),
      'UNAVAILABLE',
      true,
    ],
    [
      new Error('Request failed after 0 retries: Error: Retryable HTTP status: 503'),
      'UNAVAILABLE',
      true,
    ],
    [
      new Error('Request failed after 0 retries: Error: Retryable HTTP status: 500'),
      'UNAVAILABLE',
      true,
    ],
    [
      new Error('Request failed after 0 retries: Error: Retryable HTTP status: 408'),
      'TIMEOUT',
      true,
    ],
    [s3Error('NoSuchKey'), 'NOT_FOUND', false],
    [s3Error('NotFound'), 'NOT_FOUND', false],
    [s3Error('NoSuchBucket'), 'NO_BUCKET', false],
    [s3Error('AccessDenied'), 'ACCESS_DENIED', false],
    [s3Error('InvalidAccessKeyId'), 'ACCESS_DENIED', false],
    [s3Error('SlowDown'), 'UNAVAILABLE', true],
    [s3Error('InternalError'), 'UNAVAILABLE', true],
    [s3Error('MalformedXML'), 'IO', false],
    [new Error('something else'), 'IO', false],
    [Object.assign(new Error('no such host'), { code: 'ENOTFOUND' }), 'IO', false],
  ] as const)('maps %s', (err, code, retryable) => {
    const mapped = s3StorageError(err, 'get k', 'k');
    expect(mapped).toBeInstanceOf(StorageError);
    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.cause).toBe(err);
    expect(mapped.key).toBe('k');
    expect(mapped.message).toMatch(/^get k failed: /);
  });

  it('passes StorageErrors through', () => {
    const err = new StorageError('TOO_LARGE', 'big');
    expect(s3StorageError(err, 'put')).toBe(err);
  });
});
