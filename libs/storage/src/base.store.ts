import type { Readable } from 'node:stream';

import type {
  ArtifactStore,
  ObjectInfo,
  PutBody,
  PutOptions,
  PutResult,
} from './artifact-store.js';
import { isStorageError, StorageError } from './errors.js';
import { readAll } from './body.js';
import { assertValidPrefix } from './key.js';

/**
 * Largest JSON object `getJson` reads (bytes): manifests and index entries are a few KiB; this
 * only guards against reading an artifact as JSON by mistake.
 */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

/**
 * The parts of `ArtifactStore` that are the same for every backend, written once in terms of
 * the backend primitives (put, get, stat, list, delete).
 */
export abstract class BaseArtifactStore implements ArtifactStore {
  abstract readonly kind: 'dir' | 's3';
  abstract readonly url: string;

  abstract put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult>;
  abstract get(key: string): Promise<Readable>;
  abstract stat(key: string): Promise<ObjectInfo | undefined>;
  abstract list(prefix: string): AsyncIterable<ObjectInfo>;
  abstract delete(key: string): Promise<void>;
  abstract ensureReady(): Promise<void>;
  abstract close(): Promise<void>;

  async getBuffer(key: string, maxBytes?: number): Promise<Buffer> {
    return readAll(await this.get(key), key, maxBytes);
  }

  async putJson(key: string, value: unknown): Promise<PutResult> {
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new StorageError('INVALID_JSON', `value for ${key} cannot be serialized to JSON`, {
        key,
      });
    }
    return this.put(key, `${text}\n`, { contentType: 'application/json' });
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    let buf: Buffer;
    try {
      buf = await this.getBuffer(key, MAX_JSON_BYTES);
    } catch (err) {
      if (isStorageError(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
    try {
      return JSON.parse(buf.toString('utf8')) as T;
    } catch (err) {
      throw new StorageError('INVALID_JSON', `object ${key} is not valid JSON`, {
        key,
        cause: err,
      });
    }
  }

  async copy(
    src: string,
    dst: string,
    opts?: Pick<PutOptions, 'expectedSha256'>,
  ): Promise<PutResult> {
    const body = await this.get(src);
    return this.put(dst, body, { expectedSha256: opts?.expectedSha256 });
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    if (prefix === '') {
      throw new StorageError('BAD_KEY', 'refusing to delete with an empty prefix (everything)', {
        key: prefix,
      });
    }
    // List everything first, then delete one key at a time: deleting while a listing is in
    // progress makes some servers (s3rver, and directory walks) skip or fail on entries, and S3
    // bulk delete races on s3rver.
    const keys: string[] = [];
    for await (const info of this.list(prefix)) keys.push(info.key);
    for (const key of keys) await this.delete(key);
    return keys.length;
  }
}
