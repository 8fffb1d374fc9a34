import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { makeTempDir, type TempDir } from '@joblet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { expectStorageError, storeContract } from './artifact-store.contract.js';
import { createArtifactStore } from './create-store.js';
import { DirArtifactStore } from './dir.store.js';

/** Every file (not directory) under `dir`, relative, including hidden ones. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

storeContract('directory', async () => {
  const tmp = await makeTempDir('dir-store');
  const root = join(tmp.path, 'store');
  return {
    store: createArtifactStore(`file://${root}`),
    cleanup: () => tmp.cleanup(),
    leftovers: async () => (await allFiles(root)).filter((f) => f.endsWith('.tmp')),
  };
});

describe('DirArtifactStore', () => {
  let tmp: TempDir;
  let root: string;
  let store: DirArtifactStore;

  beforeEach(async () => {
    tmp = await makeTempDir('dir-store');
    root = join(tmp.path, 'store');
    store = new DirArtifactStore(root);
    await store.ensureReady();
  });
  afterEach(() => tmp.cleanup());

  it('keeps objects as plain files under the root, with a file:// url', async () => {
    await store.put('runtimes/x/1.0.0/amd64/manifest.json', '{}');
    expect(await readFile(join(root, 'runtimes/x/1.0.0/amd64/manifest.json'), 'utf8')).toBe('{}');
    expect(store.url).toBe(`file://${root}`);
    expect(store.kind).toBe('dir');
  });

  it('lists in plain lexicographic key order, like S3', async () => {
    const keys = ['a/b', 'a-c', 'a.d/e', 'a/a/z', 'B', 'a0'];
    for (const key of keys) await store.put(key, key);
    const listed: string[] = [];
    for await (const o of store.list('')) listed.push(o.key);
    expect(listed).toEqual([...keys].sort());
  });

  it('never shows a reader a partially written object', async () => {
    const v1 = Buffer.alloc(1024 * 1024, 'a');
    const v2 = Buffer.alloc(4 * 1024 * 1024, 'b');
    await store.put('obj', v1);
    // v2 arrives slowly, in 64 KiB chunks, while a reader keeps reading the key.
    async function* slow(): AsyncGenerator<Buffer> {
      for (let off = 0; off < v2.length; off += 64 * 1024) {
        yield v2.subarray(off, off + 64 * 1024);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    let done = false;
    const writer = store.put('obj', Readable.from(slow())).finally(() => (done = true));
    const seen = new Set<string>();
    let reads = 0;
    while (!done) {
      const got = await store.getBuffer('obj');
      reads += 1;
      if (got.equals(v1)) seen.add('v1');
      else if (got.equals(v2)) seen.add('v2');
      else throw new Error(`reader saw ${got.length} bytes that are neither version`);
    }
    await writer;
    expect(reads).toBeGreaterThan(5);
    expect(seen.has('v1')).toBe(true);
    expect((await store.getBuffer('obj')).equals(v2)).toBe(true);
  });

  it('leaves neither the object nor a temporary file after a failed put', async () => {
    await expectStorageError(
      store.put('a/b/c', Readable.from([randomBytes(5000)]), { maxBytes: 10 }),
      'TOO_LARGE',
    );
    await expectStorageError(
      store.put('a/b/d', 'x', { expectedSha256: 'f'.repeat(64) }),
      'CHECKSUM_MISMATCH',
    );
    expect(await allFiles(root)).toEqual([]);
  });

  it('keeps a stream that is already open on the version it started reading', async () => {
    await store.put('obj', Buffer.alloc(256 * 1024, 'a'));
    const reader = await store.get('obj');
    await store.put('obj', Buffer.alloc(10, 'b'));
    const chunks: Buffer[] = [];
    for await (const chunk of reader as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(Buffer.alloc(256 * 1024, 'a'))).toBe(true);
  });

  it('never touches paths outside its root', async () => {
    await writeFile(join(tmp.path, 'secret'), 'outside');
    for (const key of ['../secret', '../../etc/passwd', 'a/../../secret']) {
      await expectStorageError(store.put(key, 'pwned'), 'BAD_KEY');
      await expectStorageError(store.delete(key), 'BAD_KEY');
      await expectStorageError(store.get(key), 'BAD_KEY');
    }
    expect(await readFile(join(tmp.path, 'secret'), 'utf8')).toBe('outside');
  });

  it('does not follow or list a symbolic link planted in the store', async () => {
    await writeFile(join(tmp.path, 'secret'), 'outside');
    await symlink(join(tmp.path, 'secret'), join(root, 'link'));
    await expectStorageError(store.get('link'), 'NOT_FOUND');
    expect(await store.stat('link')).toBeUndefined();
    const keys: string[] = [];
    for await (const o of store.list('')) keys.push(o.key);
    expect(keys).toEqual([]);
  });

  it('reports CONFLICT when a key needs a directory where an object is', async () => {
    await store.put('a', 'file');
    await expectStorageError(store.put('a/b', 'x'), 'CONFLICT');
    await store.put('d/e', 'x');
    await expectStorageError(store.put('d', 'x'), 'CONFLICT');
    expect(await allFiles(root)).toEqual(['a', 'd/e']);
  });

  it('removes empty directories after deletes', async () => {
    await store.put('x/y/z/obj', '1');
    await store.put('x/other', '2');
    await store.delete('x/y/z/obj');
    expect(await readdir(join(root, 'x'))).toEqual(['other']);
    await store.deletePrefix('x/');
    expect(await readdir(root)).toEqual([]);
  });

  it('sweeps stale temporary files on ensureReady, keeping fresh ones', async () => {
    await mkdir(join(root, 'a'), { recursive: true });
    const stale = join(root, 'a', '.obj.0123456789ab.tmp');
    const fresh = join(root, 'a', '.obj.ba9876543210.tmp');
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'in progress');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, old, old);
    await store.ensureReady();
    expect(await allFiles(root)).toEqual(['a/.obj.ba9876543210.tmp']);
  });

  it('creates its root on ensureReady and requires an absolute root', async () => {
    const nested = new DirArtifactStore(join(tmp.path, 'deep', 'er', 'store'));
    await nested.ensureReady();
    await nested.put('k', 'v');
    expect(await nested.exists('k')).toBe(true);
    expect(() => new DirArtifactStore('relative/path')).toThrow(/absolute/);
  });
});
