/**
 * The base root as rootless builds see it: a copy whose owners are shifted into the build
 * sandboxes' id range (uid/gid n → first + n), kept next to the base root — the shifted layer
 * copy rootless Podman keeps per id mapping.
 *
 * Why a copy: in the build's user namespace, files owned by real host root are unmapped
 * ("nobody"), and no capability inside counts over them, so apt and dpkg could not change a
 * single file of a root-owned lower layer. An idmapped mount of the base root would avoid the
 * copy (the kernel has them), but neither util-linux 2.38 (`X-mount.idmap` came in 2.39) nor
 * bubblewrap 0.8 can make one here, and a home-made `mount_setattr` helper is security-critical
 * code we would rather not own. The copy costs ~130 MB per (suite, arch, range) and ~3 s once.
 *
 * Everything built on it stays in the range: the build's upper layer, the language layers
 * (made by a build, so shifted from birth) and the packed tree (packing writes every owner as
 * 0:0 anyway). The original base root stays root's: it is what is uploaded to the store.
 */
import { randomBytes } from 'node:crypto';
import {
  chmod,
  lchown,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '@joblet/artifact';
import { run, withFileLock, type IdRange } from '@joblet/sandbox';
import type { BaseRoot } from './rootfs.js';

/**
 * Adds `first` to the owner and group of every entry under `dir` (symlinks themselves
 * included). chown clears setuid/setgid bits, so they are set again: the tree is a copy of the
 * original, whose modes it must keep (packing strips them from runtimes).
 */
export async function shiftOwners(dir: string, first: number): Promise<number> {
  const st = await lstat(dir);
  await lchown(dir, st.uid + first, st.gid + first);
  if (!st.isSymbolicLink() && st.mode & 0o6000) await chmod(dir, st.mode & 0o7777);
  let n = 1;
  if (st.isDirectory()) {
    for (const name of await readdir(dir)) n += await shiftOwners(join(dir, name), first);
  }
  return n;
}

interface ShiftedMeta {
  /** `created` of the base root it was copied from: a rebuilt base root gets a new copy. */
  source: string;
  first: number;
}

/**
 * The shifted copy of `base` for `ids` (made now if missing or copied from an older base root):
 * `<base dir>/shifted-<first>/root`. Serialized per base root and range with a file lock.
 */
export async function shiftedBaseRoot(
  base: BaseRoot,
  ids: IdRange,
  signal?: AbortSignal,
): Promise<string> {
  const dir = join(base.dir, `shifted-${ids.first}`);
  const ready = async (): Promise<boolean> => {
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as ShiftedMeta;
      return meta.source === base.meta.created && meta.first === ids.first;
    } catch {
      return false;
    }
  };
  if (await ready()) return join(dir, 'root');
  return withFileLock(
    join(base.dir, `.shifted-${ids.first}.lock`),
    async () => {
      if (await ready()) return join(dir, 'root');
      // Copies of this range left by a worker that died while making one (we hold the lock).
      const prefix = `.tmp-shifted-${ids.first}-`;
      for (const name of await readdir(base.dir)) {
        if (name.startsWith(prefix)) await removeTree(join(base.dir, name));
      }
      const tmp = join(base.dir, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        await mkdir(tmp);
        const cp = await run('cp', ['-a', '--', base.root, join(tmp, 'root')], {
          timeoutMs: 600_000,
          ...(signal && { signal }),
        });
        if (cp.code !== 0) throw new Error(`cp -a ${base.root} failed: ${cp.stderr.trim()}`);
        await shiftOwners(join(tmp, 'root'), ids.first);
        const meta: ShiftedMeta = { source: base.meta.created, first: ids.first };
        await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta) + '\n');
        // A copy of an older base root goes; builds still using it keep their mounted overlay.
        await removeTree(dir);
        await rename(tmp, dir);
        return join(dir, 'root');
      } finally {
        await removeTree(tmp);
      }
    },
    signal ? { signal } : {},
  );
}
