// Removing trees that may have been used as build roots. The danger is a mount left inside one
// (debootstrap mounts /proc and /sys in its target, sandboxes bind /dev): a recursive delete
// would descend into the mount and delete the host's files. So: unmount first, then delete.
import { chmod, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mountsUnder, run } from '@joblet/sandbox';

/** Lazily unmounts every mount at or below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    // --lazy: a busy mount (a process still inside) is detached now and freed when released, so
    // the delete that follows can never reach through it.
    await run('umount', ['--lazy', point], { timeoutMs: 30_000 });
  }
  const left = await mountsUnder(dir);
  if (left.length > 0) throw new Error(`cannot unmount ${left.join(', ')}`);
}

/**
 * Deletes `dir` and everything below it, after unmounting anything mounted there. Works for
 * non-root callers on trees with read-only directories (made writable first). Missing is fine.
 */
export async function removeTree(dir: string): Promise<void> {
  await unmountUnder(dir);
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await makeWritable(join(dir, e.name));
}
