import type { Agent } from 'node:http';
import { Readable } from 'node:stream';

import { Client, type BucketItem } from 'minio';

import type { ObjectInfo, PutBody, PutOptions, PutResult } from './artifact-store.js';
import { BaseArtifactStore } from './base.store.js';
import { checkPut, toReadable } from './body.js';
import { isStorageError, StorageError } from './errors.js';
import { assertValidKey, assertValidPrefix, isValidKey } from './key.js';
import { s3StorageError } from './s3.errors.js';
import { uploadObject } from './s3.upload.js';
import { createIdleTimeoutAgent } from './timeout.agent.js';

/** S3's smallest allowed part (all parts but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Default part size: 16 MiB parts allow 160 GB objects and bound memory to ~32 MiB per put. */
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** Default socket idle timeout (ms); generous because CompleteMultipartUpload can be slow. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
export const DEFAULT_REGION = 'us-east-1';
export const AWS_ENDPOINT = 'https://s3.amazonaws.com';
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface S3StoreOptions {
  bucket: string;
  /** `http(s)://host[:port]`; default AWS S3 (`https://s3.amazonaws.com`). */
  endpoint?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** Without keys, requests are anonymous (unsigned). */
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  /** Path-style addressing (`host/bucket/key`), which MinIO needs. Default: true unless AWS. */
  pathStyle?: boolean;
  /** A key prefix inside the bucket (`farm/`), so several stores can share one bucket. */
  prefix?: string;
  /** Bytes per multipart part, at least 5 MiB. Default 16 MiB. */
  partSize?: number;
  /** A request fails with retryable `TIMEOUT` after this many ms without any byte moving. */
  requestTimeoutMs?: number;
}

/**
 * An `ArtifactStore` on any S3 (MinIO, AWS, ...) through the `minio` client.
 * Objects appear atomically by S3 semantics; uploads are verified (size, sha256) before they are
 * completed and aborted on any failure (see s3.upload.ts).
 */
export class S3ArtifactStore extends BaseArtifactStore {
  readonly kind = 's3' as const;
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: Client;
  private readonly agent: Agent;
  private readonly partSize: number;
  private readonly region: string;

  constructor(options: S3StoreOptions) {
    super();
    const endpoint = parseEndpoint(options.endpoint ?? AWS_ENDPOINT);
    if (!BUCKET_NAME.test(options.bucket)) {
      throw new StorageError(
        'BAD_CONFIG',
        `invalid S3 bucket name "${options.bucket}" (3-63 characters: a-z, 0-9, '.', '-')`,
      );
    }
    this.bucket = options.bucket;
    this.region = options.region ?? DEFAULT_REGION;
    this.prefix = normalizePrefix(options.prefix ?? '');
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new StorageError('BAD_CONFIG', `partSize must be an integer ≥ ${MIN_PART_SIZE} bytes`);
    }
    if ((options.accessKey === undefined) !== (options.secretKey === undefined)) {
      throw new StorageError('BAD_CONFIG', 'S3 access key and secret key must be given together');
    }
    this.agent = createIdleTimeoutAgent(
      endpoint.useSSL,
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    );
    try {
      this.client = new Client({
        endPoint: endpoint.host,
        port: endpoint.port,
        useSSL: endpoint.useSSL,
        region: this.region,
        accessKey: options.accessKey ?? '',
        secretKey: options.secretKey ?? '',
        ...(options.sessionToken === undefined ? {} : { sessionToken: options.sessionToken }),
        pathStyle: options.pathStyle ?? endpoint.origin !== AWS_ENDPOINT,
        partSize: this.partSize,
        transportAgent: this.agent,
        // Retries are the caller's policy (withRetry); minio's own retry also logs to console.
        retryOptions: { disableRetry: true },
      });
    } catch (err) {
      throw new StorageError('BAD_CONFIG', `invalid S3 configuration: ${String(err)}`, {
        cause: err,
      });
    }
    const query = `endpoint=${endpoint.origin}&region=${encodeURIComponent(this.region)}`;
    this.url = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}?${query}`;
  }

  async put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult> {
    try {
      assertValidKey(key);
      const checked = checkPut(key, body, opts);
      const target = { ...this.target(key), partSize: this.partSize };
      const { size, sha256 } = await uploadObject(target, toReadable(body), checked);
      return { key, size, sha256 };
    } catch (err) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      throw this.error(err, `put ${key}`, key);
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      return await this.client.getObject(this.bucket, this.objectName(key));
    } catch (err) {
      throw this.error(err, `get ${key}`, key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const info = await this.client.statObject(this.bucket, this.objectName(key));
      return { key, size: info.size, lastModified: info.lastModified };
    } catch (err) {
      const mapped = this.error(err, `stat ${key}`, key);
      if (mapped.code === 'NOT_FOUND') return undefined;
      throw mapped;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const stream = this.client.listObjectsV2(this.bucket, this.prefix + prefix, true);
    try {
      for await (const item of stream as AsyncIterable<BucketItem>) {
        if (item.name === undefined) continue; // a common prefix; none with recursive listing
        const key = item.name.slice(this.prefix.length);
        // Objects written by other tools with keys outside our grammar cannot be read through
        // this store either; leave them out rather than hand out keys get() would refuse.
        if (!isValidKey(key)) continue;
        yield { key, size: item.size, lastModified: item.lastModified };
      }
    } catch (err) {
      throw this.error(err, `list ${prefix}`, prefix);
    } finally {
      stream.destroy();
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.removeObject(this.bucket, this.objectName(key));
    } catch (err) {
      const mapped = this.error(err, `delete ${key}`, key);
      if (mapped.code !== 'NOT_FOUND') throw mapped;
    }
  }

  async ensureReady(): Promise<void> {
    const what = `preparing bucket ${this.bucket}`;
    try {
      if (!(await this.client.bucketExists(this.bucket))) {
        await this.client.makeBucket(this.bucket, this.region).catch((err: unknown) => {
          // Another process created it between our check and our create.
          const code = (err as { code?: unknown }).code;
          if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
        });
      }
      // A listing proves that the credentials can read the bucket.
      await this.client.listObjectsV2Query(this.bucket, this.prefix, '', '', 1, '');
    } catch (err) {
      throw this.error(err, what);
    }
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }

  private objectName(key: string): string {
    return this.prefix + key;
  }

  private target(key: string) {
    return { client: this.client, bucket: this.bucket, objectName: this.objectName(key), key };
  }

  private error(err: unknown, what: string, key?: string): StorageError {
    const mapped = s3StorageError(err, what, key);
    if (isStorageError(mapped, 'NO_BUCKET')) {
      return new StorageError(
        'NO_BUCKET',
        `${what} failed: bucket ${this.bucket} does not exist (ensureReady() creates it)`,
        { cause: err, key },
      );
    }
    return mapped;
  }
}

interface Endpoint {
  origin: string;
  host: string;
  port: number;
  useSSL: boolean;
}

function parseEndpoint(endpoint: string): Endpoint {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (err) {
    throw new StorageError('BAD_CONFIG', `S3 endpoint "${endpoint}" is not a URL`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StorageError(
      'BAD_CONFIG',
      `S3 endpoint must be http:// or https://, got "${endpoint}"`,
    );
  }
  if (url.username || url.password) {
    throw new StorageError('BAD_CONFIG', 'S3 endpoint must not contain credentials');
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new StorageError(
      'BAD_CONFIG',
      `S3 endpoint must be scheme://host[:port] only, got "${endpoint}"`,
    );
  }
  const useSSL = url.protocol === 'https:';
  return {
    origin: url.origin,
    // minio wants IPv6 literals without brackets.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
  };
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  try {
    assertValidKey(trimmed);
  } catch (err) {
    throw new StorageError('BAD_CONFIG', `S3 key prefix "${prefix}" is invalid`, { cause: err });
  }
  return `${trimmed}/`;
}
