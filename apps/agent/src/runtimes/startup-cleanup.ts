/**
 * What a crash (SIGKILL mid-install, power loss) can leave under RUNTIMES_DIR, removed at start:
 * safeExtract staging dirs and our incoming/trash dirs of processes that are gone, stale leases,
 * and lock files whose owner died. Runtimes in place are never touched here. Safe while other
 * agents share the directory: only leftovers of dead processes are removed.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LockError, acquireFileLock } from '@joblet/sandbox';
import { cleanupStaging, removeTree } from '@joblet/artifact';
import { LOCKS_DIR, TEMP_DIR, type RuntimeLayout } from './layout.js';
import { cleanStaleLeases } from './leases.js';

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Returns what was removed (paths relative to RUNTIMES_DIR, and counts). */
export async function cleanupLeftovers(layout: RuntimeLayout): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await layout.names()) {
    const dir = layout.nameDir(name);
    for (const s of await cleanupStaging(dir)) removed.push(`${name}/${s}`);
    for (const entry of await readdir(dir).catch(() => [])) {
      const m = TEMP_DIR.exec(entry);
      if (!m || pidAlive(Number(m[3]))) continue;
      await removeTree(join(dir, entry));
      removed.push(`${name}/${entry}`);
    }
    // A name dir whose only content was leftovers goes too (fails harmlessly when not empty).
    await rmdir(dir).catch(() => undefined);
  }
  const leases = await cleanStaleLeases(layout);
  if (leases > 0) removed.push(`${leases} stale lease(s)`);
  const locks = await breakStaleLocks(layout);
  if (locks > 0) removed.push(`${locks} stale lock(s)`);
  return removed;
}

/**
 * Lock files of dead owners: taking the lock breaks a stale one safely (the lock library
 * re-checks the owner under its own breaker lock), and releasing it removes the file. A lock a
 * live process holds is left alone.
 */
async function breakStaleLocks(layout: RuntimeLayout): Promise<number> {
  let n = 0;
  const dir = join(layout.root, LOCKS_DIR);
  for (const file of await readdir(dir).catch(() => [])) {
    if (!file.endsWith('.lock') && !file.endsWith('.gate')) continue;
    try {
      const lock = await acquireFileLock(join(dir, file), { waitMs: 300, pollMs: 50 });
      await lock.release();
      n++;
    } catch (err) {
      if (!(err instanceof LockError)) throw err;
    }
  }
  return n;
}
