import { chmod, chown, lstat, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUBID_COUNT, isRoot } from '@joblet/sandbox';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import type { BaseRoot, BaseRootMeta } from './rootfs.js';
import { shiftedBaseRoot } from './shifted.js';

const ids = { first: 100000, count: SUBID_COUNT };
let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('shifted-base');
});
afterEach(async () => {
  await tmp.cleanup();
});

/** A tiny base root: a root-owned dir, a file of group 42 with setgid, a symlink. */
async function base(created: string): Promise<BaseRoot> {
  const dir = join(tmp.path, 'bases', 'bookworm-amd64');
  const root = join(dir, 'root');
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'usr/bin/chkpwd'), 'x');
  await chown(join(root, 'usr/bin/chkpwd'), 0, 42);
  await chmod(join(root, 'usr/bin/chkpwd'), 0o2755);
  await symlink('usr/bin', join(root, 'bin')).catch(() => undefined);
  return { dir, root, cached: true, meta: { created } as BaseRootMeta };
}

describe.skipIf(!isRoot())('shiftedBaseRoot [requires root]', () => {
  it('copies the base root with every owner moved into the range, modes kept, once', async () => {
    const b = await base('2026-01-01T00:00:00.000Z');
    await mkdir(join(b.dir, `.tmp-shifted-${ids.first}-1-dead`)); // left by a dead worker
    const shifted = await shiftedBaseRoot(b, ids);
    expect(shifted).toBe(join(b.dir, `shifted-${ids.first}`, 'root'));
    const file = await stat(join(shifted, 'usr/bin/chkpwd'));
    expect([file.uid, file.gid, file.mode & 0o7777]).toEqual([100000, 100042, 0o2755]);
    const link = await lstat(join(shifted, 'bin'));
    expect([link.isSymbolicLink(), link.uid]).toEqual([true, 100000]);
    expect((await stat(shifted)).uid).toBe(100000);
    // The original stays root's; the dead worker's copy is gone.
    expect((await stat(join(b.root, 'usr/bin/chkpwd'))).uid).toBe(0);
    expect((await readdir(b.dir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    // Made once: the second build gets the same copy.
    const ino = (await stat(shifted)).ino;
    expect(await shiftedBaseRoot(b, ids)).toBe(shifted);
    expect((await stat(shifted)).ino).toBe(ino);
  });

  it('makes a new copy when the base root was rebuilt', async () => {
    const shifted = await shiftedBaseRoot(await base('2026-01-01T00:00:00.000Z'), ids);
    const ino = (await stat(shifted)).ino;
    const rebuilt = await base('2026-02-01T00:00:00.000Z');
    expect(await shiftedBaseRoot(rebuilt, ids)).toBe(shifted);
    expect((await stat(shifted)).ino).not.toBe(ino);
  });
});
