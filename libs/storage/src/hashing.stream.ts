import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import { StorageError } from './errors.js';

/**
 * A pass-through that hashes (sha256) and counts the bytes flowing into a store, and fails the
 * stream with `TOO_LARGE` as soon as they exceed `maxBytes`: the upload is cut short instead of
 * being sent in full and rejected afterwards.
 */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  constructor(
    private readonly maxBytes: number | undefined,
    private readonly key: string,
  ) {
    super();
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  /** Hex sha256 of everything seen; call once, after the stream ended. */
  digest(): string {
    return this.hash.digest('hex');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    if (this.maxBytes !== undefined && this.count > this.maxBytes) {
      callback(tooLarge(this.key, this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/** The `TOO_LARGE` error for `key`. */
export function tooLarge(key: string, maxBytes: number): StorageError {
  return new StorageError('TOO_LARGE', `object ${key} is larger than ${maxBytes} bytes`, { key });
}

/** Throws `BAD_CONFIG` unless `sha256` is 64 hex digits; returns it in lowercase. */
export function normalizeSha256(sha256: string, key: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new StorageError('BAD_CONFIG', `expectedSha256 for ${key} is not 64 hex digits`, { key });
  }
  return sha256.toLowerCase();
}

/** The `CHECKSUM_MISMATCH` error for `key`. */
export function checksumMismatch(key: string, expected: string, actual: string): StorageError {
  return new StorageError(
    'CHECKSUM_MISMATCH',
    `object ${key} has sha256 ${actual}, expected ${expected}`,
    { key },
  );
}
