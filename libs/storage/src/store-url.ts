// One setting chooses the store (STORAGE_URL in the apps):
//   file:///var/lib/joblet-farm/store
//   s3://bucket[/key-prefix]?endpoint=http://127.0.0.1:9000&region=us-east-1[&path_style=true]
//   s3://ACCESS_KEY:SECRET_KEY@bucket?...   (percent-encode '/', '+', '@' in the keys)
// Every error message shows the URL with its credentials replaced by "***".
import { fileURLToPath } from 'node:url';

import { StorageError } from './errors.js';
import type { S3StoreOptions } from './s3.store.js';

/** What a storage URL describes. */
export type StoreConfig = { kind: 'dir'; root: string } | { kind: 's3'; options: S3StoreOptions };

/** Settings that may come from outside the URL (the caller's env), overriding it. */
export interface StoreUrlOptions {
  accessKey?: string;
  secretKey?: string;
  /** S3 multipart part size in bytes. */
  partSize?: number;
  /** S3 socket idle timeout in ms. */
  requestTimeoutMs?: number;
}

const S3_PARAMS = ['endpoint', 'region', 'path_style'];

/** `url` with any `user:password@` replaced by `***@`, safe to log. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1***@');
}

/** Parses a storage URL; throws `BAD_CONFIG` naming the problem. */
export function parseStoreUrl(url: string, opts: StoreUrlOptions = {}): StoreConfig {
  const shown = redactUrl(url);
  const fail = (problem: string): never => {
    throw new StorageError('BAD_CONFIG', `invalid storage URL "${shown}": ${problem}`);
  };
  if (url.startsWith('/')) fail(`use file://${url} for a directory store`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('not a URL (expected file:///path or s3://bucket?endpoint=...)');
  }
  switch (parsed.protocol) {
    case 'file:':
      return { kind: 'dir', root: parseFileUrl(parsed, fail) };
    case 's3:':
      return { kind: 's3', options: parseS3Url(parsed, opts, fail) };
    default:
      return fail(`unsupported scheme "${parsed.protocol}" (expected file: or s3:)`);
  }
}

function parseFileUrl(url: URL, fail: (problem: string) => never): string {
  if (url.host !== '' && url.host !== 'localhost') fail('file URLs must be local (file:///path)');
  if (url.search || url.hash) fail('file URLs take no query or fragment');
  const root = fileURLToPath(url);
  if (root === '/') fail('refusing to use "/" as the store root');
  return root.replace(/\/+$/, '');
}

function parseS3Url(
  url: URL,
  opts: StoreUrlOptions,
  fail: (problem: string) => never,
): S3StoreOptions {
  const bucket = url.hostname;
  if (!bucket) fail('no bucket (expected s3://bucket?endpoint=...)');
  if (url.port) fail('the port belongs in the endpoint parameter, not after the bucket');
  if (url.hash) fail('S3 URLs take no fragment');
  for (const name of url.searchParams.keys()) {
    if (!S3_PARAMS.includes(name)) {
      fail(`unknown parameter "${name}" (known: ${S3_PARAMS.join(', ')})`);
    }
  }
  let accessKey: string | undefined;
  let secretKey: string | undefined;
  try {
    accessKey = url.username ? decodeURIComponent(url.username) : undefined;
    secretKey = url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    fail('malformed percent-encoding in the credentials');
  }
  accessKey = opts.accessKey ?? accessKey;
  secretKey = opts.secretKey ?? secretKey;
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    fail('an access key needs a secret key and vice versa');
  }
  const pathStyle = url.searchParams.get('path_style');
  if (pathStyle !== null && pathStyle !== 'true' && pathStyle !== 'false') {
    fail('path_style must be true or false');
  }
  const prefix = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  return {
    bucket,
    ...optional('endpoint', url.searchParams.get('endpoint') ?? undefined),
    ...optional('region', url.searchParams.get('region') ?? undefined),
    ...optional('pathStyle', pathStyle === null ? undefined : pathStyle === 'true'),
    ...optional('prefix', prefix || undefined),
    ...optional('accessKey', accessKey),
    ...optional('secretKey', secretKey),
    ...optional('partSize', opts.partSize),
    ...optional('requestTimeoutMs', opts.requestTimeoutMs),
  };
}

/** `{ [name]: value }`, or nothing when the value is undefined. */
function optional<K extends string, V>(name: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, V>);
}

/**
 * An app's env schema checks STORAGE_URL with this (`z.string().superRefine(checkStoreUrl)`), so a
 * bad URL stops the start as a configuration error naming the variable, before any client exists.
 */
export function checkStoreUrl(
  url: string,
  ctx: { addIssue(issue: { code: 'custom'; message: string }): void },
): void {
  try {
    // The keys may come from STORAGE_ACCESS_KEY/STORAGE_SECRET_KEY instead: their pairing is
    // checked where both are known (createArtifactStore), not here.
    parseStoreUrl(url, { accessKey: 'set', secretKey: 'set' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}
