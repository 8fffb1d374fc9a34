import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { SUBID_COUNT, isRoot } from '@joblet/sandbox';
import { SharedCaches, promoteNewFiles } from './caches.js';

/** The owner of shared entries: the rootless sandbox's root (our own uid when not root). */
const OWNER = isRoot() ? 100000 : process.getuid!();
const SUBIDS = { first: OWNER, count: SUBID_COUNT };

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('worker-caches');
});
afterEach(async () => {
  await tmp.cleanup();
});

describe('promoteNewFiles', () => {
  it('adds new files in owned directories, never replaces, skips what is not accepted', async () => {
    const upper = join(tmp.path, 'upper');
    const shared = join(tmp.path, 'shared');
    await mkdir(join(upper, 'sub'), { recursive: true });
    await mkdir(shared);
    await writeFile(join(upper, 'a.deb'), 'new a');
    await writeFile(join(upper, 'b.deb'), 'new b');
    await writeFile(join(upper, 'lock'), '');
    await writeFile(join(upper, 'sub', 'c.deb'), 'c');
    await mkdir(join(upper, 'x', 'y'), { recursive: true });
    await writeFile(join(upper, 'x', 'y', 'blob'), 'blob');
    await writeFile(join(shared, 'b.deb'), 'old b');
    const n = await promoteNewFiles(
      upper,
      shared,
      (rel) => Promise.resolve(/^[^/]+\.deb$/.test(rel) || rel === 'x/y/blob'),
      OWNER,
    );
    expect(n).toBe(2);
    // Owned by the sandboxes' root, which must be able to change it in its merged view.
    for (const p of ['a.deb', 'x', 'x/y', 'x/y/blob']) {
      expect((await stat(join(shared, p))).uid, p).toBe(OWNER);
    }
    expect(await readFile(join(shared, 'a.deb'), 'utf8')).toBe('new a');
    expect(await readFile(join(shared, 'b.deb'), 'utf8')).toBe('old b');
    // Nothing of what was refused is left, not even its directory or a temporary copy.
    expect((await readdir(shared)).sort()).toEqual(['a.deb', 'b.deb', 'x']);
  });

  it('checks the copy it shares: admission sees the bytes that are linked', async () => {
    const upper = join(tmp.path, 'upper');
    const shared = join(tmp.path, 'shared');
    await mkdir(upper, { recursive: true });
    await mkdir(shared);
    await writeFile(join(upper, 'x.deb'), 'genuine');
    const seen: string[] = [];
    const n = await promoteNewFiles(
      upper,
      shared,
      async (_rel, copy) => {
        seen.push(await readFile(copy, 'utf8'));
        return copy.startsWith(shared);
      },
      OWNER,
    );
    expect(n).toBe(1);
    expect(seen).toEqual(['genuine']);
  });
});

describe('SharedCaches lists', () => {
  it('publishes immutable versions and points lists.json at the newest', async () => {
    const caches = new SharedCaches(tmp.path, 'bookworm', 'amd64', SUBIDS);
    await caches.ensure();
    // Each id range has caches of its own.
    expect(caches.aptDir).toBe(join(tmp.path, 'apt', `bookworm-amd64-u${OWNER}`));
    expect(await caches.currentLists()).toBeUndefined();
    expect(await caches.lowerDir('lists')).toMatch(/lists\.d\/empty$/);
    const fresh = join(tmp.path, 'fresh');
    await mkdir(join(fresh, 'partial'), { recursive: true });
    await writeFile(join(fresh, 'lock'), '');
    await writeFile(join(fresh, 'deb.debian.org_debian_dists_bookworm_InRelease'), 'release');
    await caches.publishLists(fresh, 'hash-1', 60_000);
    const cur = await caches.currentLists();
    expect(cur?.sourcesHash).toBe('hash-1');
    const lower = await caches.lowerDir('lists');
    expect((await readdir(lower)).sort()).toEqual([
      'deb.debian.org_debian_dists_bookworm_InRelease',
      'partial',
    ]);
    await caches.publishLists(fresh, 'hash-2', 0);
    expect((await caches.currentLists())?.sourcesHash).toBe('hash-2');
    // The older version is pruned (keepMs 0); the current one and the empty lower stay.
    expect((await readdir(join(caches.aptDir, 'lists.d'))).sort()).toEqual(
      [(await caches.currentLists())!.dir, 'empty'].sort(),
    );
  });
});
