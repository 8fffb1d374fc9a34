import { createRequire } from 'node:module';

import { listV2CompatMiddleware } from './s3rver-list.middleware.js';
import { multipartCompatMiddleware } from './s3rver-multipart.middleware.js';
import type { S3rverConstructor, S3rverInstance } from './s3rver.js';
import { makeTempDir } from './temp-dir.js';

// s3rver is CommonJS without types; see s3rver.d.ts for why it is loaded this way.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** s3rver accepts any signature but only this access key (its built-in dummy account). */
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';
const REGION = 'us-east-1';

export interface S3ServerOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Buckets to create before returning. */
  buckets?: string[];
}

/** A real S3 HTTP server (s3rver) running in this process, for tests. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Where s3rver keeps buckets and in-progress uploads; removed by `close()`. */
  readonly directory: string;
  /**
   * An `s3://` URL for `createArtifactStore` addressing `bucket` (and optionally a key prefix
   * inside it) on this server, with this server's credentials in its userinfo.
   */
  url(bucket: string, prefix?: string): string;
  /** Creates a bucket over HTTP (PUT /bucket). */
  createBucket(name: string): Promise<void>;
  /** Stops the server, drops open connections and removes its directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts s3rver in-process on 127.0.0.1 with a fresh temporary directory. minio-js works against
 * it for put/get/stat/list/delete and multipart uploads (see `multipartCompatMiddleware`).
 * Path-style addressing only: configure clients with `pathStyle: true`.
 */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3TestServer> {
  const dir = await makeTempDir('joblet-s3rver');
  let server: S3rverInstance | undefined;
  try {
    server = new S3rver({
      address: '127.0.0.1',
      port: opts.port ?? 0,
      silent: true,
      directory: dir.path,
      vhostBuckets: false,
    });
    server.middleware.unshift(multipartCompatMiddleware(dir.path), listV2CompatMiddleware());
    const address = await server.run();
    const port = address.port;
    const endpoint = `http://127.0.0.1:${port}`;

    let closed: Promise<void> | undefined;
    const running = server;
    const handle: S3TestServer = {
      endpoint,
      port,
      region: REGION,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      directory: dir.path,
      url(bucket, prefix) {
        const path = prefix ? `/${prefix.replace(/^\/+/, '')}` : '';
        const query = new URLSearchParams({ endpoint, region: REGION });
        return `s3://${ACCESS_KEY}:${SECRET_KEY}@${bucket}${path}?${query.toString()}`;
      },
      async createBucket(name) {
        const res = await fetch(`${endpoint}/${encodeURIComponent(name)}`, { method: 'PUT' });
        if (!res.ok) {
          throw new Error(`creating bucket ${name} failed: ${res.status} ${await res.text()}`);
        }
      },
      close() {
        closed ??= (async () => {
          // Keep-alive sockets from clients would hold close() open until they idle out.
          const stopped = running.close();
          running.httpServer?.closeAllConnections();
          await stopped;
          await dir.cleanup();
        })();
        return closed;
      },
    };
    for (const bucket of opts.buckets ?? []) await handle.createBucket(bucket);
    return handle;
  } catch (err) {
    if (server?.httpServer?.listening) await server.close().catch(() => undefined);
    await dir.cleanup();
    throw err;
  }
}
