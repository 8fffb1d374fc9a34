// s3rver 3.7.1 implements CreateMultipartUpload, UploadPart and CompleteMultipartUpload, but answers
// 501 to ListMultipartUploads and 405 to ListParts and AbortMultipartUpload. minio-js v8 calls
// ListMultipartUploads (`GET /<bucket>?uploads&prefix=<key>...`) before every multipart
// `putObject` (to resume an earlier upload), ListParts when it finds one, and Abort from
// `removeIncompleteUpload`/`composeObject`. This middleware answers those three from s3rver's own
// on-disk upload directories, so the fake behaves like S3: an aborted upload is really gone and a
// test can assert that no incomplete upload was left behind.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { KoaContextLike, KoaMiddleware } from './s3rver.js';

/** Where s3rver's FilesystemStore keeps in-progress multipart uploads of a bucket. */
const UPLOADS_DIR = '._S3rver_uploads';
/** s3rver makes upload ids from 16 random bytes in hex; anything else is not one of ours. */
const UPLOAD_ID = /^[0-9a-f]{1,64}$/;
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

interface Upload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/**
 * Koa middleware for s3rver answering ListMultipartUploads, ListParts and AbortMultipartUpload
 * (path-style requests only). Put it first: `server.middleware.unshift(middleware(dir))`.
 * @param directory - the `directory` option s3rver was started with
 */
export function multipartCompatMiddleware(directory: string): KoaMiddleware {
  return async (ctx, next) => {
    const target = parsePath(ctx.path);
    if (!target) return next();
    const bucketDir = join(directory, target.bucket);
    if (!(await isDirectory(bucketDir))) return next(); // let s3rver answer NoSuchBucket
    const uploadsDir = join(bucketDir, UPLOADS_DIR);

    if (ctx.method === 'GET' && target.key === undefined && 'uploads' in ctx.query) {
      const prefix = first(ctx.query.prefix) ?? '';
      const uploads = (await listUploads(uploadsDir)).filter((u) => u.key.startsWith(prefix));
      respond(ctx, 200, listUploadsXml(target.bucket, prefix, uploads));
      return;
    }

    const uploadId = first(ctx.query.uploadId);
    if (target.key === undefined || uploadId === undefined || 'partNumber' in ctx.query) {
      return next();
    }
    if (ctx.method !== 'GET' && ctx.method !== 'DELETE') return next();

    const upload = UPLOAD_ID.test(uploadId) ? await readUpload(uploadsDir, uploadId) : undefined;
    if (!upload || upload.key !== target.key) {
      respond(ctx, 404, noSuchUploadXml(uploadId));
      return;
    }
    if (ctx.method === 'DELETE') {
      await rm(join(uploadsDir, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = null;
      return;
    }
    respond(ctx, 200, await listPartsXml(uploadsDir, target.bucket, upload));
  };
}

function parsePath(path: string): { bucket: string; key: string | undefined } | undefined {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!match?.[1]) return undefined;
  try {
    const bucket = decodeURIComponent(match[1]);
    const key = match[2] ? decodeURIComponent(match[2]) : undefined;
    return { bucket, key };
  } catch {
    return undefined; // malformed escapes: leave the request to s3rver
  }
}

async function listUploads(uploadsDir: string): Promise<Upload[]> {
  let ids: string[];
  try {
    ids = await readdir(uploadsDir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const uploads = await Promise.all(
    ids.filter((id) => UPLOAD_ID.test(id)).map((id) => readUpload(uploadsDir, id)),
  );
  return uploads
    .filter((u): u is Upload => u !== undefined)
    .sort((a, b) => a.key.localeCompare(b.key) || a.initiated.getTime() - b.initiated.getTime());
}

async function readUpload(uploadsDir: string, uploadId: string): Promise<Upload | undefined> {
  const keyFile = join(uploadsDir, uploadId, 'key');
  try {
    const [key, info] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
    return { key, uploadId, initiated: info.mtime };
  } catch (err) {
    // s3rver's UploadPart re-creates the directory of an aborted upload without its `key` file.
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function listUploadsXml(bucket: string, prefix: string, uploads: Upload[]): string {
  const items = uploads
    .map(
      (u) =>
        `<Upload><Key>${esc(u.key)}</Key><UploadId>${u.uploadId}</UploadId>` +
        `<Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
    )
    .join('');
  // minio-js reads IsTruncated as a boolean and loops while it is true: never omit "false".
  return (
    `${XML_HEAD}<ListMultipartUploadsResult xmlns="${S3_NS}"><Bucket>${esc(bucket)}</Bucket>` +
    `<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${esc(prefix)}</Prefix>` +
    `<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${items}</ListMultipartUploadsResult>`
  );
}

async function listPartsXml(uploadsDir: string, bucket: string, upload: Upload): Promise<string> {
  const dir = join(uploadsDir, upload.uploadId);
  const numbers = (await readdir(dir))
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
  const parts = await Promise.all(
    numbers.map(async (n) => {
      const [info, md5] = await Promise.all([
        stat(join(dir, String(n))),
        readFile(join(dir, `${n}.md5`), 'utf8').catch(() => ''),
      ]);
      return (
        `<Part><PartNumber>${n}</PartNumber><LastModified>${info.mtime.toISOString()}</LastModified>` +
        `<ETag>"${md5.trim()}"</ETag><Size>${info.size}</Size></Part>`
      );
    }),
  );
  return (
    `${XML_HEAD}<ListPartsResult xmlns="${S3_NS}"><Bucket>${esc(bucket)}</Bucket>` +
    `<Key>${esc(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId>` +
    `<MaxParts>10000</MaxParts><IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`
  );
}

function noSuchUploadXml(uploadId: string): string {
  return (
    `${XML_HEAD}<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist. ` +
    `The upload ID may be invalid, or the upload may have been aborted or completed.</Message>` +
    `<UploadId>${esc(uploadId)}</UploadId></Error>`
  );
}

function respond(ctx: KoaContextLike, status: number, xml: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = xml;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function esc(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch] ?? ch,
  );
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
