// Per-job directories: `AGENT_WORK_DIR/<jobId>/` (root-owned, 0711) holding `work/` (the job's
// /work, owned by the sandbox uid) and `.owner` (pid and start time of the agent running it, so
// a later start — of this agent or another sharing the directory — removes only what a dead
// process left). Nothing of /work is kept after the job: uploads are transient.
// With a size (`--max-disk`, the node's default) /work is on its own filesystem: `work.img`, a
// sparse ext4 image loop-mounted at `disk/` (its root owned by root), and /work is its
// subdirectory `disk/work/` (owned by the sandbox uid): a job sees and changes only that
// subdirectory, so removing it gives the filesystem back as it was made (work-disks.ts reuses
// it; see @joblet/sandbox's disk-image.ts). Ready-made ones wait in `.disk-<pid>-<n>/`
// directories of the same layout.
import { chmod, chown, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NOBODY, cleanupDiskImages, createDiskImage, processStartTime } from '@joblet/sandbox';
import { removeTree } from '@joblet/artifact';
import { isJobId } from './job-errors.js';

const OWNER_FILE = '.owner';
/** The image of a sized /work, next to its mount point. */
const DISK_IMAGE = 'work.img';
/** Where a sized /work's filesystem is mounted, inside the job's directory. */
const DISK_MOUNT = 'disk';
/** A ready-made sized /work waiting for a job (work-disks.ts). */
const DISK_SLOT = /^\.disk-\d+-\d+$/;

export interface JobDir {
  /** `AGENT_WORK_DIR/<jobId>`: removed whole when the job ends. */
  dir: string;
  /** Bound at /work. */
  work: string;
  /** Size of /work's own filesystem (bytes); absent: a plain directory on the node's disk. */
  diskBytes?: number;
  /** Where that filesystem is mounted (`dir/disk`; /work is its `work` subdirectory). */
  mount?: string;
  /** Its image file (`dir/work.img`). */
  image?: string;
}

let ownStart: Promise<number | null> | undefined;

/** `root/name` with its owner file and `work/` (of `diskBytes`, when given). */
async function makeDir(root: string, name: string, diskBytes?: number): Promise<JobDir> {
  const dir = join(root, name);
  // Not recursive: a directory of that name already there is a leftover we must not reuse.
  await mkdir(dir, { mode: 0o711 });
  const work = join(dir, 'work');
  try {
    await chmod(dir, 0o711);
    ownStart ??= processStartTime(process.pid);
    await writeFile(
      join(dir, OWNER_FILE),
      JSON.stringify({ pid: process.pid, start: await ownStart }),
      { mode: 0o600 },
    );
    if (diskBytes !== undefined) {
      const image = join(dir, DISK_IMAGE);
      const mount = join(dir, DISK_MOUNT);
      await createDiskImage({
        image,
        mountPoint: mount,
        sizeBytes: diskBytes,
        owner: { uid: 0, gid: 0 },
      });
      const d = { dir, work: join(mount, 'work'), diskBytes, mount, image };
      await makeWorkDir(d.work);
      return d;
    }
    await makeWorkDir(work);
    return { dir, work };
  } catch (err) {
    await removeJobDir({ dir, work }).catch(() => undefined);
    throw err;
  }
}

/** An empty /work directory owned by the sandbox uid. */
export async function makeWorkDir(work: string): Promise<void> {
  await mkdir(work, { mode: 0o755 });
  await chmod(work, 0o755);
  if (process.getuid?.() === 0) await chown(work, NOBODY, NOBODY);
}

export async function createJobDir(
  root: string,
  jobId: string,
  diskBytes?: number,
): Promise<JobDir> {
  if (!isJobId(jobId)) throw new Error(`invalid job id ${JSON.stringify(jobId)}`);
  return makeDir(root, jobId, diskBytes);
}

/** A ready-made sized /work, `root/.disk-<pid>-<n>`, for a job to adopt later. */
export function createDiskSlot(root: string, n: number, diskBytes: number): Promise<JobDir> {
  return makeDir(root, `.disk-${process.pid}-${n}`, diskBytes);
}

/** `d` moved to `root/name` by a rename (its mount moves with it). */
async function moveDir(d: JobDir, root: string, name: string): Promise<JobDir> {
  const dir = join(root, name);
  await rename(d.dir, dir);
  const mount = d.mount !== undefined ? join(dir, DISK_MOUNT) : undefined;
  return {
    dir,
    work: mount !== undefined ? join(mount, 'work') : join(dir, 'work'),
    ...(d.diskBytes !== undefined && { diskBytes: d.diskBytes }),
    ...(mount !== undefined && { mount, image: join(dir, DISK_IMAGE) }),
  };
}

/** Gives a ready-made slot to a job: renamed to `root/<jobId>`. */
export function adoptDiskSlot(slot: JobDir, root: string, jobId: string): Promise<JobDir> {
  if (!isJobId(jobId)) throw new Error(`invalid job id ${JSON.stringify(jobId)}`);
  return moveDir(slot, root, jobId);
}

/** Makes a job's emptied directory a ready-made slot again: renamed to `root/.disk-<pid>-<n>`. */
export function returnDiskSlot(d: JobDir, root: string, n: number): Promise<JobDir> {
  return moveDir(d, root, `.disk-${process.pid}-${n}`);
}

/**
 * The layers of a system-root job's writable root inside its directory: `upper` (what it
 * writes, owned by the uid that is root of its namespace), overlayfs's `work` and the mountpoint.
 * Removed with the directory.
 */
export async function createRootLayers(
  d: JobDir,
  owner: { uid: number; gid: number },
): Promise<{ upper: string; work: string; mountpoint: string }> {
  const layers = {
    upper: join(d.dir, 'root-upper'),
    work: join(d.dir, 'root-work'),
    mountpoint: join(d.dir, 'root'),
  };
  await mkdir(layers.upper, { mode: 0o755 });
  await mkdir(layers.work, { mode: 0o700 });
  await mkdir(layers.mountpoint, { mode: 0o755 });
  if (process.getuid?.() === 0) await chown(layers.upper, owner.uid, owner.gid);
  return layers;
}

/**
 * Removes the directory: a sized /work is unmounted and its loop device detached first (so the
 * delete never reaches through a mount), then everything, image included, is deleted.
 */
export async function removeJobDir(d: JobDir): Promise<void> {
  await cleanupDiskImages(d.dir);
  await removeTree(d.dir);
}

/** A directory this young without an owner file may be one another agent is creating. */
const UNOWNED_GRACE_MS = 60_000;

/** True when the agent that made `dir` is gone (or unknown: no readable owner file). */
async function ownerGone(dir: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(dir, OWNER_FILE), 'utf8');
  } catch {
    const st = await stat(dir).catch(() => undefined);
    return st !== undefined && Date.now() - st.mtimeMs > UNOWNED_GRACE_MS;
  }
  try {
    const o = JSON.parse(text) as {
      pid?: unknown;
      start?: unknown;
    };
    if (typeof o.pid !== 'number') return true;
    const start = await processStartTime(o.pid);
    return start === null || (typeof o.start === 'number' && o.start !== start);
  } catch {
    return true;
  }
}

/**
 * Removes job directories and ready-made /work disks whose agent died (at start-up), mounts and
 * loop devices included; returns their names.
 */
export async function cleanupJobDirs(root: string): Promise<string[]> {
  const removed: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    // Only what looks like ours: runtime tests (`test-*`) and anything else are left alone.
    const ours = (isJobId(e.name) && !e.name.startsWith('test-')) || DISK_SLOT.test(e.name);
    if (!e.isDirectory() || !ours) continue;
    const dir = join(root, e.name);
    if (!(await ownerGone(dir))) continue;
    await removeJobDir({ dir, work: join(dir, 'work') });
    removed.push(e.name);
  }
  return removed;
}
