import type { Readable } from 'node:stream';

/** What a successful `put` stored. */
export interface PutResult {
  key: string;
  /** Bytes stored. */
  size: number;
  /** Lowercase hex sha256 of the bytes stored, computed while they streamed in. */
  sha256: string;
}

/** One stored object. */
export interface ObjectInfo {
  key: string;
  /** Bytes. */
  size: number;
  lastModified: Date;
}

export interface PutOptions {
  /** Refuse bodies longer than this many bytes: `TOO_LARGE`, and nothing is stored. */
  maxBytes?: number;
  /** Stored as the object's Content-Type on S3; ignored by the directory backend. */
  contentType?: string;
  /** Refuse bodies not hashing to this (hex) sha256: `CHECKSUM_MISMATCH`, nothing is stored. */
  expectedSha256?: string;
}

/** The body of a put: a stream (preferred for artifacts), a Buffer, or a UTF-8 string. */
export type PutBody = Readable | Buffer | string;

/**
 * Durable object storage for artifacts, manifests and index entries.
 *
 * Guarantees of every backend:
 * - keys follow the grammar of `assertValidKey`; anything else is refused with `BAD_KEY` before
 *   any I/O;
 * - a `put` is atomic: readers see the previous object or the complete new one, never a part of
 *   it; a put that fails (source error, `maxBytes`, checksum, network) leaves the key as it was
 *   and no temporary file or incomplete upload behind;
 * - bodies stream through: memory use is bounded (by the S3 part size) whatever the object size;
 * - every error is a `StorageError`; transient ones have `retryable: true` (see `withRetry`).
 */
export interface ArtifactStore {
  readonly kind: 'dir' | 's3';
  /** The store's URL without credentials, safe to log. */
  readonly url: string;

  /** Stores `body` under `key`, replacing any previous object. */
  put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult>;
  /** Streams an object; `NOT_FOUND` when there is none. */
  get(key: string): Promise<Readable>;
  /** Reads a whole object into memory; `TOO_LARGE` beyond `maxBytes`, `NOT_FOUND` when missing. */
  getBuffer(key: string, maxBytes?: number): Promise<Buffer>;
  /** Stores `value` as JSON (`application/json`). */
  putJson(key: string, value: unknown): Promise<PutResult>;
  /** Reads a JSON object; undefined when missing, `INVALID_JSON` when it does not parse. */
  getJson<T>(key: string): Promise<T | undefined>;
  /** Size and time of an object, or undefined when there is none. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  /**
   * Every object whose key starts with `prefix` (a plain string prefix, as in S3), recursively.
   * The order is not part of the contract: S3 and the directory backend list in key order, but
   * S3-compatible servers differ (s3rver lists in directory-walk order).
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * Copies an object (streamed through this process, so it works the same on every backend);
   * with `expectedSha256` the copy is refused, and `dst` left as it was, unless it matches.
   */
  copy(src: string, dst: string, opts?: Pick<PutOptions, 'expectedSha256'>): Promise<PutResult>;
  /** Removes an object; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every object under a non-empty `prefix`, one at a time; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Creates the bucket or directory when missing and checks that it can be read. */
  ensureReady(): Promise<void>;
  /** Releases connections; the store must not be used afterwards. */
  close(): Promise<void>;
}
