// Reusing a job's sized /work for the next job (work-disks.ts) without carrying anything over.
// A job reaches only the `work` subdirectory of its disk's filesystem (job-dirs.ts), so deleting
// that subdirectory whole takes its files, modes, owners and extended attributes (ACLs included)
// with it; a new one is made. The disk is then checked against how it was when made, and only a
// disk found exactly so is reused: nothing else in the filesystem or the job's directory, nothing
// mounted inside, the same free blocks and inodes (the size a job sees, the counters it could
// read), and its image not grown on the node's disk beyond a little. Called only once the job's
// processes are gone (its cgroup destroyed), so nothing can be writing to it any more.
import { readdir, rm, stat, statfs } from 'node:fs/promises';
import { mountsUnder } from '@joblet/sandbox';
import { makeWorkDir, type JobDir } from './job-dirs.js';

const MiB = 1024 * 1024;

/** How much a reused image may have grown on the node's disk since it was made. */
export const REUSE_GROWTH_BYTES = 32 * MiB;

/** What a disk's job directory holds besides the filesystem (job-dirs.ts). */
const DISK_DIR_ENTRIES = ['.owner', 'disk', 'work.img'];

/** A disk as it was made, to compare with after each job. */
export interface FreshState {
  /** Inode of its image (the same across renames). */
  ino: number;
  /** Bytes its image took on the node's disk. */
  allocated: number;
  /** Free blocks and free inodes of its filesystem, with an empty /work. */
  bfree: number;
  ffree: number;
}

/** How a newly made disk (an empty /work) is. */
export async function freshState(d: JobDir): Promise<FreshState> {
  if (d.image === undefined || d.mount === undefined) throw new Error(`${d.dir} has no disk`);
  const img = await stat(d.image);
  const fs = await statfs(d.mount);
  return { ino: img.ino, allocated: img.blocks * 512, bfree: fs.bfree, ffree: fs.ffree };
}

/**
 * Empties a job's disk for the next job: its /work deleted and made anew. Returns undefined when
 * the disk is then as it was made (`fresh`), else why not (the caller removes it instead).
 */
export async function wipeForReuse(d: JobDir, fresh: FreshState): Promise<string | undefined> {
  if (d.image === undefined || d.mount === undefined) return 'not a disk';
  const mounts = await mountsUnder(d.dir);
  if (mounts.length !== 1 || mounts[0] !== d.mount) {
    return `mounts in the job directory: ${mounts.join(', ') || 'none'}`;
  }
  const entries = (await readdir(d.dir)).sort();
  if (entries.join('\0') !== DISK_DIR_ENTRIES.join('\0')) {
    return `the job directory holds ${entries.join(', ')}`;
  }
  await rm(d.work, { recursive: true, force: true });
  const left = await readdir(d.mount);
  if (left.length > 0) return `the filesystem holds ${left.join(', ')} besides /work`;
  await makeWorkDir(d.work);
  const now = await freshState(d);
  if (now.ino !== fresh.ino) return 'another image';
  if (now.bfree !== fresh.bfree || now.ffree !== fresh.ffree) {
    return `free blocks/inodes ${now.bfree}/${now.ffree}, made with ${fresh.bfree}/${fresh.ffree}`;
  }
  if (now.allocated > fresh.allocated + REUSE_GROWTH_BYTES) {
    return `its image grew to ${Math.round(now.allocated / MiB)} MiB on the node's disk`;
  }
  return undefined;
}
