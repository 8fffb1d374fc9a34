// The one behavioural contract every ArtifactStore backend must pass. Backend test files call
// `storeContract` with a factory giving each test its own empty store.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ArtifactStore, ObjectInfo } from './artifact-store.js';
import { isStorageError, type StorageErrorCode } from './errors.js';

export interface StoreFixture {
  /** An empty store for one test. */
  store: ArtifactStore;
  cleanup(): Promise<void>;
  /**
   * Backend-level residue a failed put could leave (temporary files, incomplete multipart
   * uploads); the contract expects none after any put, failed or not.
   */
  leftovers?(): Promise<string[]>;
}

const MiB = 1024 * 1024;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

/** Rejects unless `promise` fails with a StorageError of `code`. */
export async function expectStorageError(
  promise: Promise<unknown>,
  code: StorageErrorCode,
): Promise<void> {
  const err: unknown = await promise.then(
    () => new Error(`expected StorageError ${code}, but the call succeeded`),
    (e: unknown) => e,
  );
  if (!isStorageError(err, code)) {
    throw new Error(`expected StorageError ${code}, got ${String(err)}`, { cause: err });
  }
}

/**
 * A stream of `size` random bytes in 1 MiB chunks, hashing them as they are produced so the
 * caller knows the expected digest without ever holding the whole body.
 */
export function randomStream(
  size: number,
  chunkSize = MiB,
): { stream: Readable; digest(): string } {
  const hash = createHash('sha256');
  function* chunks(): Generator<Buffer> {
    for (let sent = 0; sent < size; sent += chunkSize) {
      const chunk = randomBytes(Math.min(chunkSize, size - sent));
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), digest: () => hash.digest('hex') };
}

/** A stream that yields `good` bytes and then fails. */
function failingStream(good: number): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < good; sent += MiB) {
      yield randomBytes(Math.min(MiB, good - sent));
      await new Promise((r) => setImmediate(r));
    }
    throw new Error('source failed mid-stream');
  }
  return Readable.from(chunks());
}

const BAD_KEYS = [
  '../x',
  '/abs',
  'a//b',
  'a/../b',
  'a/./b',
  '',
  'a/',
  'a\\b',
  '.hidden',
  'with space',
  'a/b\u0000c',
  'x'.repeat(1025),
];

/** Registers the contract tests for one backend. */
export function storeContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: ArtifactStore;

    beforeEach(async () => {
      fx = await makeStore();
      store = fx.store;
      await store.ensureReady();
    });
    afterEach(async () => {
      await store.close();
      await fx.cleanup();
    });

    async function expectNothingLeft(prefix: string): Promise<void> {
      expect(await collect(store.list(prefix))).toEqual([]);
      expect((await fx.leftovers?.()) ?? []).toEqual([]);
    }

    it('round-trips a Buffer with the sha256 and size of its bytes', async () => {
      const data = randomBytes(300_000);
      const res = await store.put('a/b/c.bin', data);
      expect(res).toEqual({ key: 'a/b/c.bin', size: data.length, sha256: sha256(data) });
      expect((await store.getBuffer('a/b/c.bin')).equals(data)).toBe(true);
      expect(await sha256OfStream(await store.get('a/b/c.bin'))).toEqual({
        sha256: sha256(data),
        size: data.length,
      });
    });

    it('streams a put from a Readable, and stores strings as UTF-8', async () => {
      const body = randomStream(3 * MiB + 17, 64 * 1024);
      const res = await store.put('s/stream.bin', body.stream);
      expect(res.size).toBe(3 * MiB + 17);
      expect(res.sha256).toBe(body.digest());
      expect((await sha256OfStream(await store.get('s/stream.bin'))).sha256).toBe(res.sha256);

      const text = 'héllo wörld';
      const put = await store.put('s/text.txt', text);
      expect(put.size).toBe(Buffer.byteLength(text));
      expect((await store.getBuffer('s/text.txt')).toString('utf8')).toBe(text);
    });

    it('stores an empty object', async () => {
      const res = await store.put('empty', Buffer.alloc(0));
      expect(res).toEqual({ key: 'empty', size: 0, sha256: sha256('') });
      expect((await store.getBuffer('empty')).length).toBe(0);
      expect((await store.stat('empty'))?.size).toBe(0);
    });

    it('replaces an existing object', async () => {
      await store.put('k', 'first version');
      await store.put('k', 'second');
      expect((await store.getBuffer('k')).toString()).toBe('second');
      expect((await store.stat('k'))?.size).toBe(6);
    });

    it('lists recursively by prefix', async () => {
      const keys = [
        'runtimes/python/3.11.0/amd64/runtime.tar.zst',
        'runtimes/python/3.11.0/amd64/manifest.json',
        'runtimes/python/3.11.0/arm64/manifest.json',
        'runtimes/python-ml/1.0.0/amd64/manifest.json',
        'runtimes/node/20.0.0/amd64/manifest.json',
        'index/python/3.11.0.json',
        'top',
      ];
      for (const key of keys) await store.put(key, key);
      // Sorted here: s3rver lists in directory-walk order, unlike S3 (see ArtifactStore.list).
      const list = async (prefix: string) =>
        (await collect(store.list(prefix))).map((o) => o.key).sort();

      expect(await list('runtimes/python/')).toEqual([
        'runtimes/python/3.11.0/amd64/manifest.json',
        'runtimes/python/3.11.0/amd64/runtime.tar.zst',
        'runtimes/python/3.11.0/arm64/manifest.json',
      ]);
      // A plain string prefix, as in S3: also matches python-ml.
      expect(await list('runtimes/python')).toEqual([
        'runtimes/python-ml/1.0.0/amd64/manifest.json',
        'runtimes/python/3.11.0/amd64/manifest.json',
        'runtimes/python/3.11.0/amd64/runtime.tar.zst',
        'runtimes/python/3.11.0/arm64/manifest.json',
      ]);
      expect(await list('')).toEqual([...keys].sort());
      expect(await list('nothing/')).toEqual([]);
      expect(await list('runtimes/python/3.11.0/amd64/manifest.json')).toEqual([
        'runtimes/python/3.11.0/amd64/manifest.json',
      ]);

      const [info] = await collect(store.list('top'));
      expect(info?.size).toBe(3);
      expect(info?.lastModified).toBeInstanceOf(Date);
      expect(Math.abs(Date.now() - info!.lastModified.getTime())).toBeLessThan(60_000);
    });

    it('stats and checks existence', async () => {
      await store.put('dir/obj', Buffer.alloc(1234, 7));
      const info = await store.stat('dir/obj');
      expect(info?.key).toBe('dir/obj');
      expect(info?.size).toBe(1234);
      expect(await store.exists('dir/obj')).toBe(true);
      expect(await store.stat('dir/missing')).toBeUndefined();
      expect(await store.exists('dir/missing')).toBe(false);
      // A "directory" in the key space is not an object.
      expect(await store.stat('dir')).toBeUndefined();
      expect(await store.exists('dir')).toBe(false);
    });

    it('deletes idempotently', async () => {
      await store.put('d/x', 'x');
      await store.delete('d/x');
      expect(await store.exists('d/x')).toBe(false);
      await store.delete('d/x');
      await store.delete('never/existed');
      await store.put('d/x', 'again'); // the emptied "directory" can be used again
      expect((await store.getBuffer('d/x')).toString()).toBe('again');
    });

    it('deletes by prefix and leaves everything else', async () => {
      for (const key of ['p/a', 'p/b/c', 'p/b/d/e', 'pq', 'other/p/a']) await store.put(key, key);
      expect(await store.deletePrefix('p/')).toBe(3);
      expect((await collect(store.list(''))).map((o) => o.key).sort()).toEqual(['other/p/a', 'pq']);
      expect(await store.deletePrefix('p/')).toBe(0);
      await expectStorageError(store.deletePrefix(''), 'BAD_KEY');
      await expectStorageError(store.deletePrefix('../'), 'BAD_KEY');
    });

    it('copies an object, refusing a copy whose checksum does not match', async () => {
      const body = randomBytes(300_000);
      const put = await store.put('staging/b1/amd64/runtime.tar.zst', body);
      const copied = await store.copy(
        'staging/b1/amd64/runtime.tar.zst',
        'runtimes/r/1.0.0/amd64/runtime.tar.zst',
        {
          expectedSha256: put.sha256,
        },
      );
      expect(copied).toEqual({
        key: 'runtimes/r/1.0.0/amd64/runtime.tar.zst',
        size: body.length,
        sha256: put.sha256,
      });
      expect(sha256(await store.getBuffer('runtimes/r/1.0.0/amd64/runtime.tar.zst'))).toBe(
        put.sha256,
      );
      await store.put('runtimes/r/1.0.0/amd64/manifest.json', 'old');
      await expectStorageError(
        store.copy('staging/b1/amd64/runtime.tar.zst', 'runtimes/r/1.0.0/amd64/manifest.json', {
          expectedSha256: '0'.repeat(64),
        }),
        'CHECKSUM_MISMATCH',
      );
      expect((await store.getBuffer('runtimes/r/1.0.0/amd64/manifest.json')).toString()).toBe(
        'old',
      );
      await expectStorageError(store.copy('staging/missing', 'x/y'), 'NOT_FOUND');
    });

    it('puts and gets JSON', async () => {
      const value = { name: 'python', version: '3.11.0', arch: ['amd64'], n: 1.5, ok: true };
      const res = await store.putJson('index/python/3.11.0.json', value);
      expect(res.sha256).toBe(sha256(await store.getBuffer('index/python/3.11.0.json')));
      expect(await store.getJson('index/python/3.11.0.json')).toEqual(value);
      expect(await store.getJson('index/python/9.9.9.json')).toBeUndefined();
      await store.put('broken.json', '{"half":');
      await expectStorageError(store.getJson('broken.json'), 'INVALID_JSON');
    });

    it('refuses a body over maxBytes and stores nothing', async () => {
      await expectStorageError(
        store.put('big/stream', randomStream(2 * MiB).stream, { maxBytes: MiB }),
        'TOO_LARGE',
      );
      await expectStorageError(
        store.put('big/buffer', Buffer.alloc(101), { maxBytes: 100 }),
        'TOO_LARGE',
      );
      await expectNothingLeft('big/');
      // Exactly maxBytes is allowed.
      expect((await store.put('big/exact', Buffer.alloc(100), { maxBytes: 100 })).size).toBe(100);
    });

    it('keeps the previous object when a replacing put fails', async () => {
      await store.put('keep/me', 'good');
      await expectStorageError(
        store.put('keep/me', randomStream(2 * MiB).stream, { maxBytes: MiB }),
        'TOO_LARGE',
      );
      await expectStorageError(
        store.put('keep/me', 'evil', { expectedSha256: sha256('something else') }),
        'CHECKSUM_MISMATCH',
      );
      await expect(store.put('keep/me', failingStream(MiB))).rejects.toThrow();
      expect((await store.getBuffer('keep/me')).toString()).toBe('good');
      expect((await fx.leftovers?.()) ?? []).toEqual([]);
    });

    it('refuses a body whose sha256 differs from expectedSha256 and stores nothing', async () => {
      const data = randomBytes(50_000);
      await expectStorageError(
        store.put('sum/bad', data, { expectedSha256: sha256('other bytes') }),
        'CHECKSUM_MISMATCH',
      );
      const body = randomStream(2 * MiB);
      await expectStorageError(
        store.put('sum/bad-stream', body.stream, { expectedSha256: '0'.repeat(64) }),
        'CHECKSUM_MISMATCH',
      );
      await expectNothingLeft('sum/');
      const ok = await store.put('sum/good', data, { expectedSha256: sha256(data).toUpperCase() });
      expect(ok.sha256).toBe(sha256(data));
      await expectStorageError(
        store.put('sum/x', data, { expectedSha256: 'not-hex' }),
        'BAD_CONFIG',
      );
    });

    it('leaves nothing behind when the source stream fails', async () => {
      await expect(store.put('fail/src', failingStream(3 * MiB))).rejects.toThrow();
      await expectNothingLeft('fail/');
    });

    it('refuses bad keys before any I/O', async () => {
      for (const key of BAD_KEYS) {
        await expectStorageError(store.put(key, 'x'), 'BAD_KEY');
        await expectStorageError(store.get(key), 'BAD_KEY');
        await expectStorageError(store.stat(key), 'BAD_KEY');
        await expectStorageError(store.delete(key), 'BAD_KEY');
      }
      for (const prefix of ['../', '/abs', 'a//b', 'a/../']) {
        await expectStorageError(collect(store.list(prefix)), 'BAD_KEY');
      }
      expect(await collect(store.list(''))).toEqual([]);
    });

    it('reports NOT_FOUND for a missing key', async () => {
      await expectStorageError(store.get('no/such/key'), 'NOT_FOUND');
      await expectStorageError(store.getBuffer('no/such/key'), 'NOT_FOUND');
    });

    it('limits getBuffer to maxBytes', async () => {
      await store.put('limit', Buffer.alloc(2048));
      await expectStorageError(store.getBuffer('limit', 1024), 'TOO_LARGE');
      expect((await store.getBuffer('limit', 2048)).length).toBe(2048);
    });

    it(
      'streams an object over 64 MiB in and out with the right sha256',
      { timeout: 60_000 },
      async () => {
        const size = 70 * MiB + 12_345;
        const body = randomStream(size);
        const res = await store.put('large/runtime.tar.zst', body.stream);
        expect(res.size).toBe(size);
        expect(res.sha256).toBe(body.digest());
        expect((await store.stat('large/runtime.tar.zst'))?.size).toBe(size);
        expect(await sha256OfStream(await store.get('large/runtime.tar.zst'))).toEqual({
          sha256: res.sha256,
          size,
        });
        expect((await fx.leftovers?.()) ?? []).toEqual([]);
      },
    );

    it('handles concurrent puts of different keys', async () => {
      const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(100_000 + i * 50_000));
      const results = await Promise.all(
        bodies.map((data, i) => store.put(`conc/${i}/obj.bin`, data)),
      );
      for (const [i, data] of bodies.entries()) {
        expect(results[i]?.sha256).toBe(sha256(data));
        expect((await store.getBuffer(`conc/${i}/obj.bin`)).equals(data)).toBe(true);
      }
      expect(await collect(store.list('conc/'))).toHaveLength(12);
    });
  });
}
