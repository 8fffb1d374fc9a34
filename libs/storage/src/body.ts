import { Readable } from 'node:stream';

import type { PutBody, PutOptions } from './artifact-store.js';
import { StorageError } from './errors.js';
import { normalizeSha256, tooLarge } from './hashing.stream.js';

/** The options of a put, checked once before any I/O. */
export interface CheckedPut {
  maxBytes: number | undefined;
  expectedSha256: string | undefined;
  contentType: string;
}

/**
 * Validates put options and, for in-memory bodies, refuses an oversized body before any I/O.
 */
export function checkPut(key: string, body: PutBody, opts: PutOptions = {}): CheckedPut {
  const { maxBytes } = opts;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
    throw new StorageError('BAD_CONFIG', `maxBytes must be a non-negative integer`, { key });
  }
  if (maxBytes !== undefined && !(body instanceof Readable)) {
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (length > maxBytes) throw tooLarge(key, maxBytes);
  }
  return {
    maxBytes,
    expectedSha256:
      opts.expectedSha256 === undefined ? undefined : normalizeSha256(opts.expectedSha256, key),
    contentType: opts.contentType ?? 'application/octet-stream',
  };
}

/** A put body as a stream of Buffers (strings are UTF-8). */
export function toReadable(body: PutBody): Readable {
  if (body instanceof Readable) return body;
  // One chunk; `objectMode: false` so consumers see Buffers, as from a file.
  return Readable.from([typeof body === 'string' ? Buffer.from(body, 'utf8') : body], {
    objectMode: false,
  });
}

/**
 * Reads a stream to the end into one Buffer, destroying it and throwing `TOO_LARGE` as soon as
 * more than `maxBytes` arrived (so a huge object is never fully downloaded by mistake).
 */
export async function readAll(stream: Readable, key: string, maxBytes?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      length += buf.length;
      if (maxBytes !== undefined && length > maxBytes) throw tooLarge(key, maxBytes);
      chunks.push(buf);
    }
  } finally {
    // Ends the download (and frees the socket or file descriptor) when we stopped early.
    if (!stream.destroyed) stream.destroy();
  }
  return Buffer.concat(chunks, length);
}
