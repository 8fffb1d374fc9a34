// Our own multipart upload driver instead of minio-js `putObject`, because `putObject`:
// - never aborts a failed multipart upload (its parts stay billed and hidden on the server);
// - hangs when the source stream fails (it pipes the source into a chunker without forwarding
//   the error, then waits for the chunker to end);
// - on a later put of the same key "resumes" whatever incomplete upload it finds, parts and all;
// - completes the upload before we know the sha256, so a checksum mismatch could only be
//   handled by deleting the object afterwards, i.e. after clobbering the previous version.
// Here the object becomes visible only through the final CompleteMultipartUpload (or the single
// PutObject for small bodies), which is sent after size and sha256 were checked; every failure
// aborts the upload. Memory: one part being filled plus one in flight.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';

import type { Client } from 'minio';

import type { CheckedPut } from './body.js';
import { checksumMismatch, HashingStream } from './hashing.stream.js';

/** Where an upload goes. */
export interface UploadTarget {
  client: Client;
  bucket: string;
  /** The S3 object name (store prefix + key). */
  objectName: string;
  /** The store key, for error messages. */
  key: string;
  /** Bytes per part (S3: at least 5 MiB except the last part, at most 10,000 parts). */
  partSize: number;
}

/** Sends `source` to S3 atomically; resolves with its size and sha256. */
export async function uploadObject(
  target: UploadTarget,
  source: Readable,
  put: CheckedPut,
): Promise<{ size: number; sha256: string }> {
  const hasher = new HashingStream(put.maxBytes, target.key);
  // pipeline forwards a source error (or TOO_LARGE) to `hasher`, ending the loop below with it,
  // and destroys the source if we stop reading early.
  const hashed = pipeline(source, hasher, () => undefined);
  const part = new PartBuffer(target.partSize);
  const multipart = new MultipartUpload(target, { 'Content-Type': put.contentType });
  try {
    for await (const chunk of hashed as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        // Send a part only once more data is known to follow, so a body of exactly one part
        // still goes out as a single PutObject.
        if (part.full) await multipart.send(part.take());
        offset += part.append(chunk, offset);
      }
    }
    const size = hasher.bytes;
    const sha256 = hasher.digest();
    const verify = () => {
      if (put.expectedSha256 !== undefined && sha256 !== put.expectedSha256) {
        throw checksumMismatch(target.key, put.expectedSha256, sha256);
      }
    };
    if (!multipart.started) {
      verify();
      const body = part.take();
      await target.client.putObject(target.bucket, target.objectName, body, body.length, {
        'Content-Type': put.contentType,
      });
    } else {
      await multipart.send(part.take());
      await multipart.drain();
      verify();
      await multipart.complete();
    }
    return { size, sha256 };
  } catch (err) {
    if (!hasher.destroyed) hasher.destroy();
    await multipart.abort();
    throw err;
  }
}

/**
 * Accumulates one part. The first part grows from 64 KiB, so small objects (manifests, JSON) do
 * not allocate a whole part; once an object needs a second part, parts are allocated full size.
 */
class PartBuffer {
  private buf: Buffer | undefined;
  private filled = 0;
  private multipart = false;

  constructor(private readonly partSize: number) {}

  get full(): boolean {
    return this.filled === this.partSize;
  }

  /** Copies as much of `chunk[offset..]` as fits; returns the number of bytes taken. */
  append(chunk: Buffer, offset: number): number {
    const wanted = Math.min(chunk.length - offset, this.partSize - this.filled);
    const needed = this.filled + wanted;
    if (this.buf === undefined || needed > this.buf.length) {
      let size = this.multipart ? this.partSize : Math.max(this.buf?.length ?? 0, 64 * 1024);
      while (size < needed) size *= 2;
      const bigger = Buffer.allocUnsafe(Math.min(size, this.partSize));
      this.buf?.copy(bigger, 0, 0, this.filled);
      this.buf = bigger;
    }
    chunk.copy(this.buf, this.filled, offset, offset + wanted);
    this.filled = needed;
    return wanted;
  }

  /** Hands out the bytes gathered so far (possibly none) and starts the next part. */
  take(): Buffer {
    const out = this.buf?.subarray(0, this.filled) ?? Buffer.alloc(0);
    this.buf = undefined;
    this.filled = 0;
    this.multipart = true;
    return out;
  }
}

/** One S3 multipart upload, started lazily, with at most one part in flight. */
class MultipartUpload {
  private uploadId: string | undefined;
  private readonly etags: { part: number; etag: string }[] = [];
  private inflight: Promise<void> | undefined;
  private partNumber = 0;

  constructor(
    private readonly target: UploadTarget,
    private readonly headers: Record<string, string>,
  ) {}

  get started(): boolean {
    return this.partNumber > 0;
  }

  /** Waits for the previous part, then starts sending `body` as the next part. */
  async send(body: Buffer): Promise<void> {
    await this.drain();
    const { client, bucket, objectName } = this.target;
    this.partNumber += 1;
    this.uploadId ??= await client.initiateNewMultipartUpload(bucket, objectName, this.headers);
    const uploadID = this.uploadId;
    const part = this.partNumber;
    const md5 = createHash('md5').update(body).digest('base64');
    const sending = client
      .uploadPart(
        {
          bucketName: bucket,
          objectName,
          uploadID,
          partNumber: part,
          headers: { 'Content-MD5': md5 },
        },
        body,
      )
      .then((res) => {
        this.etags.push({ part, etag: res.etag });
      });
    // Observed by drain(); this only keeps an early failure from being reported as unhandled.
    sending.catch(() => undefined);
    this.inflight = sending;
  }

  /** Waits for the part in flight, rethrowing its failure. */
  async drain(): Promise<void> {
    const inflight = this.inflight;
    this.inflight = undefined;
    await inflight;
  }

  async complete(): Promise<void> {
    const { client, bucket, objectName } = this.target;
    if (this.uploadId === undefined) throw new Error('BUG: complete() before any part');
    const etags = [...this.etags].sort((a, b) => a.part - b.part);
    await client.completeMultipartUpload(bucket, objectName, this.uploadId, etags);
    this.uploadId = undefined;
  }

  /**
   * Best effort: if the abort itself fails (server gone), the upload stays incomplete until a
   * bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it; it is never visible as an
   * object either way.
   */
  async abort(): Promise<void> {
    await this.drain().catch(() => undefined);
    if (this.uploadId === undefined) return;
    const { client, bucket, objectName } = this.target;
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    await client.abortMultipartUpload(bucket, objectName, uploadId).catch(() => undefined);
  }
}
