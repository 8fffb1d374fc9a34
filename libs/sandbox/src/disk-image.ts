// Size-limited writable directories: a sparse image file formatted ext4 and loop-mounted. A
// write past the size fails with ENOSPC inside the filesystem, and the node's own disk gives at
// most the image's size to it. Used for a job's /work (`--max-disk`) and for sized volumes.
//
// Why this and not another mechanism: the node's disk is one ext4 filesystem mounted without
// project quotas (turning them on needs `tune2fs -O project` on an unmounted disk and a remount
// with `prjquota`), there is no XFS, and a tmpfs would take the size from RAM rather than disk.
// A loop-mounted ext4 image needs nothing of the host but root, loop devices and e2fsprogs;
// `mkfs.ext4` with lazy inode-table init, no discard and no journal takes ~20 ms and the mount
// ~25 ms on this kind of machine (see disk-pool in the agent, which takes both off a job's start).
//
// Clean-up is strict: `mount -o loop` sets the loop device's autoclear flag, so unmounting
// detaches it; any loop device still bound to the image is detached explicitly; then the image
// is deleted. `cleanupDiskImages` does the same for everything under a directory after a crash.
import { existsSync } from 'node:fs';
import { open, mkdir, readFile, rmdir, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NOBODY } from './bwrap.js';
import { parseMountInfo } from './cgroups.js';
import { loopDevicesBackedBy, detachLoopDevice } from './loop-devices.js';
import { run, succeeded } from './exec.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { hasCommand, isRoot } from './host-probe.js';

const MiB = 1024 * 1024;

/** Smallest image: ext4 with its metadata needs a few MiB to hold anything. */
export const MIN_DISK_BYTES = 8 * MiB;

export interface DiskImageSpec {
  /** The image file: created sparse, never overwritten (an existing file is an error). */
  image: string;
  /** Where the filesystem is mounted (created when missing). */
  mountPoint: string;
  sizeBytes: number;
  /** Owner of the filesystem's root directory. Default: the sandbox user (nobody). */
  owner?: { uid: number; gid: number };
  /**
   * An ext4 journal, for data kept across jobs (volumes): it survives a crash consistent. A
   * throw-away /work needs none (and formats faster).
   */
  journal?: boolean;
}

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

function diskError(message: string): SandboxError {
  return new SandboxError(message, SandboxErrorCode.DiskFailed);
}

async function runOrThrow(what: string, cmd: string, args: readonly string[]): Promise<void> {
  const r = await run(cmd, args, { env: ENV, timeoutMs: 60_000 }).catch((err: unknown) => {
    throw diskError(`${what}: ${cmd} could not be started: ${(err as Error).message}`);
  });
  if (!succeeded(r)) {
    const why = r.stderr.trim() || r.stdout.trim() || `exit ${r.code ?? r.signal}`;
    throw diskError(`${what}: ${cmd} failed: ${why}`);
  }
}

/** Why this host cannot make size-limited directories (undefined: it can). */
export function diskImagesMissing(): string | undefined {
  if (!isRoot()) return 'the agent does not run as root (mounting needs it)';
  if (!existsSync('/dev/loop-control')) return 'no loop devices (/dev/loop-control is missing)';
  if (!hasCommand('mkfs.ext4', ['-V'])) return 'mkfs.ext4 is missing (apt package e2fsprogs)';
  return undefined;
}

/** Creates the sparse image file and formats it ext4 (nothing is mounted). */
export async function formatDiskImage(spec: DiskImageSpec): Promise<void> {
  const size = Math.floor(spec.sizeBytes / 4096) * 4096;
  if (!Number.isSafeInteger(size) || size < MIN_DISK_BYTES) {
    throw new SandboxError(
      `disk size ${spec.sizeBytes} bytes is below the minimum of ${MIN_DISK_BYTES / MiB} MiB`,
      SandboxErrorCode.LimitInvalid,
    );
  }
  const fh = await open(spec.image, 'wx', 0o600);
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
  const owner = spec.owner ?? { uid: NOBODY, gid: NOBODY };
  try {
    await runOrThrow(`formatting ${spec.image}`, 'mkfs.ext4', [
      '-q',
      '-F',
      // No blocks reserved for root: the whole size is the job's.
      '-m',
      '0',
      ...(spec.journal ? [] : ['-O', '^has_journal']),
      '-E',
      `lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=${owner.uid}:${owner.gid}`,
      spec.image,
    ]);
  } catch (err) {
    await unlink(spec.image).catch(() => undefined);
    throw err;
  }
}

/**
 * Loop-mounts a formatted image at its mount point (nodev, nosuid) and removes ext4's
 * `lost+found`, so the directory starts empty. `throwaway` (a job's /work): the kernel does not
 * zero the inode tables in the background (`noinit_itable`), which would write 16 MiB per GiB
 * into the sparse image for nothing.
 */
export async function mountDiskImage(
  image: string,
  mountPoint: string,
  o: { throwaway?: boolean } = {},
): Promise<void> {
  await mkdir(mountPoint, { recursive: true, mode: 0o755 });
  await runOrThrow(`mounting ${image}`, 'mount', [
    '-t',
    'ext4',
    '-o',
    `loop,nodev,nosuid,noatime${o.throwaway ? ',noinit_itable' : ''}`,
    image,
    mountPoint,
  ]);
  await rmdir(`${mountPoint}/lost+found`).catch(() => undefined);
}

/** Formats and mounts: a size-limited directory. On failure nothing is left (no image). */
export async function createDiskImage(spec: DiskImageSpec): Promise<void> {
  await formatDiskImage(spec);
  try {
    await mountDiskImage(spec.image, spec.mountPoint, { throwaway: !spec.journal });
  } catch (err) {
    await releaseDiskImage(spec.image, spec.mountPoint).catch(() => undefined);
    throw err;
  }
}

/** Mount points at or below `dir` in this process's mount namespace, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = resolve(dir);
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((p) => p === root || p.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Unmounts `mountPoint` (every mount stacked there). A mount still busy after a few tries (a
 * process of this namespace inside it) is detached lazily: it goes when its last user does.
 */
export async function unmount(mountPoint: string): Promise<void> {
  for (let attempt = 0; (await mountsUnder(mountPoint)).includes(resolve(mountPoint)); attempt++) {
    const lazy = attempt >= 5;
    const r = await run('umount', lazy ? ['-l', mountPoint] : [mountPoint], { env: ENV });
    if (succeeded(r)) continue;
    if (lazy) throw diskError(`unmounting ${mountPoint} failed: ${r.stderr.trim()}`);
    await new Promise((ok) => setTimeout(ok, 20 * (attempt + 1)));
  }
}

/**
 * Undoes {@link createDiskImage}: unmounts, detaches any loop device still bound to the image
 * (autoclear normally did), deletes the image unless `keepImage`, and removes the empty mount
 * point. Idempotent: parts already gone are skipped.
 */
export async function releaseDiskImage(
  image: string,
  mountPoint: string,
  opts: { keepImage?: boolean } = {},
): Promise<void> {
  await unmount(mountPoint);
  for (const dev of await loopDevicesBackedBy(image)) await detachLoopDevice(dev);
  if (!opts.keepImage)
    await unlink(image).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  await rmdir(mountPoint).catch(() => undefined);
}

/** True when something is mounted exactly at `path`. */
export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountsUnder(path)).includes(resolve(path));
}

/**
 * After a crash: unmounts everything mounted at or below `root` and detaches every loop device
 * whose image lies below `root` (deleted images included). Image files are left for the caller,
 * which knows which of them are kept (volumes) and which are leftovers. Returns what it did.
 */
export async function cleanupDiskImages(root: string): Promise<string[]> {
  const done: string[] = [];
  for (const point of await mountsUnder(root)) {
    await unmount(point);
    done.push(`unmounted ${point}`);
  }
  for (const dev of await loopDevicesBackedBy(resolve(root), { under: true })) {
    await detachLoopDevice(dev);
    done.push(`detached ${dev}`);
  }
  return done;
}
