import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { Readable } from 'node:stream';

import { startS3Server, uniqueName, type S3TestServer } from '@joblet/testkit';
import { Client } from 'minio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  expectStorageError,
  randomStream,
  sha256,
  sha256OfStream,
  storeContract,
} from './artifact-store.contract.js';
import type { ArtifactStore } from './artifact-store.js';
import { createArtifactStore } from './create-store.js';
import { isStorageError, type StorageError } from './errors.js';
import { withRetry } from './retry.js';
import { S3ArtifactStore } from './s3.store.js';

const MiB = 1024 * 1024;

let server: S3TestServer;
let bucket: string;
let admin: Client;

beforeAll(async () => {
  server = await startS3Server();
  bucket = uniqueName('store');
  await server.createBucket(bucket);
  admin = new Client({
    endPoint: '127.0.0.1',
    port: server.port,
    useSSL: false,
    pathStyle: true,
    region: server.region,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
  });
});
afterAll(() => server?.close());

/** Keys of multipart uploads under `prefix` that were started and never completed or aborted. */
async function incompleteUploads(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const upload of admin.listIncompleteUploads(bucket, prefix, true)) {
    keys.push(`incomplete upload: ${upload.key}`);
  }
  return keys;
}

// Each test gets its own key prefix in the file's bucket (s3://bucket/<prefix>).
storeContract('s3 (s3rver over HTTP)', () => {
  const prefix = uniqueName('t');
  return Promise.resolve({
    store: createArtifactStore(server.url(bucket, prefix)),
    cleanup: () => Promise.resolve(),
    leftovers: () => incompleteUploads(`${prefix}/`),
  });
});

describe('S3ArtifactStore', () => {
  const opened: ArtifactStore[] = [];
  const open = (url: string, opts?: Parameters<typeof createArtifactStore>[1]) => {
    const store = createArtifactStore(url, opts);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('keeps credentials out of its url', () => {
    const store = open(server.url(bucket, 'some/prefix'));
    expect(store.kind).toBe('s3');
    expect(store.url).toBe(
      `s3://${bucket}/some/prefix/?endpoint=${server.endpoint}&region=us-east-1`,
    );
    expect(store.url).not.toContain(server.secretKey);
  });

  it('creates a missing bucket on ensureReady, and says so when it is missing', async () => {
    const fresh = uniqueName('fresh');
    const store = open(server.url(fresh));
    await expectStorageError(store.put('k', 'v'), 'NO_BUCKET');
    await store.ensureReady();
    await store.ensureReady(); // idempotent
    await store.put('k', 'v');
    expect(await admin.bucketExists(fresh)).toBe(true);
  });

  it('stores keys under the URL prefix and lists them without it', async () => {
    const prefix = uniqueName('pfx');
    const store = open(server.url(bucket, prefix));
    await store.put('a/b', 'x');
    expect((await admin.statObject(bucket, `${prefix}/a/b`)).size).toBe(1);
    const keys: string[] = [];
    for await (const o of store.list('')) keys.push(o.key);
    expect(keys).toEqual(['a/b']);
  });

  it('stores the content type', async () => {
    const prefix = uniqueName('ct');
    const store = open(server.url(bucket, prefix));
    await store.putJson('j.json', { a: 1 });
    await store.put('t.txt', 'x', { contentType: 'text/plain' });
    const multipart = open(server.url(bucket, prefix), { partSize: 5 * MiB });
    await multipart.put('bin', randomStream(6 * MiB).stream, { contentType: 'application/zstd' });
    const type = async (key: string) =>
      (await admin.statObject(bucket, `${prefix}/${key}`)).metaData['content-type'] as unknown;
    expect(await type('j.json')).toBe('application/json');
    expect(await type('t.txt')).toBe('text/plain');
    expect(await type('bin')).toBe('application/zstd');
  });

  describe('multipart uploads (5 MiB parts)', () => {
    let store: ArtifactStore;
    let prefix: string;
    const fresh = () => {
      prefix = uniqueName('mp');
      store = open(server.url(bucket, prefix), { partSize: 5 * MiB });
    };

    it('uploads many parts and reads them back intact', async () => {
      fresh();
      const body = randomStream(23 * MiB + 1);
      const res = await store.put('obj', body.stream, { expectedSha256: undefined });
      expect(res.sha256).toBe(body.digest());
      expect((await sha256OfStream(await store.get('obj'))).sha256).toBe(res.sha256);
    });

    it('sends an object of exactly one part as a single PutObject', async () => {
      fresh();
      const data = randomBytes(5 * MiB);
      expect((await store.put('one', Readable.from([data]))).sha256).toBe(sha256(data));
      expect((await store.getBuffer('one')).equals(data)).toBe(true);
    });

    it('aborts the upload when maxBytes is exceeded after several parts', async () => {
      fresh();
      await store.put('obj', 'previous');
      await expectStorageError(
        store.put('obj', randomStream(30 * MiB).stream, { maxBytes: 12 * MiB }),
        'TOO_LARGE',
      );
      expect((await store.getBuffer('obj')).toString()).toBe('previous');
      expect(await incompleteUploads(`${prefix}/`)).toEqual([]);
    });

    it('aborts instead of completing when the sha256 does not match', async () => {
      fresh();
      await expectStorageError(
        store.put('obj', randomStream(12 * MiB).stream, { expectedSha256: 'a'.repeat(64) }),
        'CHECKSUM_MISMATCH',
      );
      expect(await store.exists('obj')).toBe(false);
      expect(await incompleteUploads(`${prefix}/`)).toEqual([]);
    });

    it('aborts the upload when the source fails after several parts', async () => {
      fresh();
      function* breaking(): Generator<Buffer> {
        for (let i = 0; i < 13; i++) yield randomBytes(MiB);
        throw new Error('disk read error');
      }
      const err: unknown = await store
        .put('obj', Readable.from(breaking()))
        .catch((e: unknown) => e);
      expect(isStorageError(err)).toBe(true);
      expect(String((err as StorageError).cause)).toContain('disk read error');
      expect(await store.exists('obj')).toBe(false);
      expect(await incompleteUploads(`${prefix}/`)).toEqual([]);
    });
  });

  it('fails fast and retryably when nothing listens on the port', async () => {
    const port = await freePort();
    const store = open(`s3://${bucket}?endpoint=http://127.0.0.1:${port}`);
    const started = Date.now();
    const err: unknown = await store.stat('x').catch((e: unknown) => e);
    expect(isStorageError(err, 'UNAVAILABLE')).toBe(true);
    expect((err as StorageError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    await expectStorageError(store.put('x', randomBytes(1000)), 'UNAVAILABLE');
  });

  it('times out retryably when the server accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const blackhole: TcpServer = createTcpServer((s) => sockets.add(s));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    try {
      const { port } = blackhole.address() as AddressInfo;
      const store = open(`s3://${bucket}?endpoint=http://127.0.0.1:${port}`, {
        requestTimeoutMs: 300,
      });
      const started = Date.now();
      const err: unknown = await store.stat('x').catch((e: unknown) => e);
      expect(isStorageError(err, 'TIMEOUT')).toBe(true);
      expect((err as StorageError).retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      for (const s of sockets) s.destroy();
      blackhole.close();
    }
  });

  it('reports a 5xx answer as retryable without retrying on its own', async () => {
    let requests = 0;
    const failing: Server = createHttpServer((_req, res) => {
      requests += 1;
      res.writeHead(503).end();
    });
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    try {
      const { port } = failing.address() as AddressInfo;
      const store = open(`s3://${bucket}?endpoint=http://127.0.0.1:${port}`);
      const err: unknown = await store.getBuffer('x').catch((e: unknown) => e);
      expect(isStorageError(err, 'UNAVAILABLE')).toBe(true);
      expect((err as StorageError).retryable).toBe(true);
      expect(requests).toBe(1);
    } finally {
      failing.closeAllConnections();
      failing.close();
    }
  });

  it('reports unknown credentials as ACCESS_DENIED, not retryable', async () => {
    const url = server.url(bucket).replace(/S3RVER:S3RVER@/, '');
    const store = open(url, { accessKey: 'NOBODY', secretKey: 'wrong' });
    const err: unknown = await store.put('k', 'v').catch((e: unknown) => e);
    expect(isStorageError(err, 'ACCESS_DENIED')).toBe(true);
    expect((err as StorageError).retryable).toBe(false);
  });

  it('withRetry succeeds once a late server comes up', async () => {
    const port = await freePort();
    const late = uniqueName('late');
    const store = open(
      `s3://S3RVER:S3RVER@${late}?endpoint=http://127.0.0.1:${port}&region=us-east-1`,
    );
    const failures: string[] = [];
    let lateServer: S3TestServer | undefined;
    const starting = new Promise((r) => setTimeout(r, 400)).then(async () => {
      lateServer = await startS3Server({ port });
    });
    try {
      const result = await withRetry(
        async () => {
          await store.ensureReady();
          return store.put('k', 'hello');
        },
        {
          attempts: 10,
          baseMs: 100,
          maxMs: 1000,
          onRetry: (err) => failures.push((err as StorageError).code),
        },
      );
      expect(result.sha256).toBe(sha256('hello'));
      expect(failures.length).toBeGreaterThan(0);
      expect(new Set(failures)).toEqual(new Set(['UNAVAILABLE']));
    } finally {
      await starting;
      await lateServer?.close();
    }
  });

  it('reuses keep-alive connections across an idle period longer than the timeout', async () => {
    const store = open(server.url(bucket, uniqueName('ka')), { requestTimeoutMs: 200 });
    await store.put('k', 'v');
    await new Promise((r) => setTimeout(r, 400));
    expect((await store.getBuffer('k')).toString()).toBe('v');
  });

  it('rejects invalid configuration clearly', () => {
    expect(() => new S3ArtifactStore({ bucket: 'B_ad' })).toThrow(/bucket name/);
    expect(() => new S3ArtifactStore({ bucket: 'ok-bucket', partSize: 1024 })).toThrow(/partSize/);
    expect(() => new S3ArtifactStore({ bucket: 'ok-bucket', endpoint: 'ftp://x' })).toThrow(/http/);
  });

  it('interoperates with plain minio-js putObject (unknown-size streams use the middleware)', async () => {
    const key = `${uniqueName('interop')}/obj`;
    const body = randomStream(70 * MiB);
    await admin.putObject(bucket, key, body.stream);
    const prefix = key.slice(0, key.indexOf('/'));
    const store = open(server.url(bucket, prefix));
    expect((await sha256OfStream(await store.get('obj'))).sha256).toBe(body.digest());
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createTcpServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
