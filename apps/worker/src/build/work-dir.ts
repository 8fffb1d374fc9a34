/**
 * Per-build work directories: `<workDir>/b-<buildId>-<arch>-<pid>/` owned by the build child
 * with that pid. A child removes its own at the end; a worker starting up removes those whose
 * owner is dead (a crashed or SIGKILLed build), so nothing accumulates.
 *
 * Ownership (rootless builds): the work dir is root:<range root> 0710, so the build sandbox's
 * bwrap, running as the range's root, can reach the mount points it binds and list nothing;
 * the overlay upper layers the sandbox writes through are owned by the range's root (they are
 * its `/`); the packing layer and the archive stay host root's.
 */
import { chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime, type IdRange } from '@joblet/sandbox';
import { removeTree } from '@joblet/artifact';
import type { Logger } from '@joblet/logging';

/** Sub-directories of a work dir. */
export interface WorkDir {
  path: string;
  /** Writable overlay layer of the build's root. */
  upper: string;
  /** overlayfs' own work directory (same file system as `upper`). */
  ovlwork: string;
  /** Mount point of the build's root (read-write overlay). */
  merged: string;
  /** Upper/work layers of the preparation root (package lists, a new language layer). */
  prepUpper: string;
  prepWork: string;
  /** Upper/work/merged dirs of the cache overlays, one sub-directory per cache. */
  caches: string;
  /** What gets packed: runtime.yml and isolated/. */
  pkg: string;
  /**
   * Upper/work layers of `pkg/isolated`: what normalising the runtime tree changes (scratch dirs
   * emptied) lands here, never in the build's own layers.
   */
  pkgUpper: string;
  pkgWork: string;
  /** The archive before upload. */
  out: string;
}

const NAME = /^b-(.+)-([a-z0-9]+)-(\d+)$/;
const OWNER_FILE = 'owner.json';

/** Build ids become path segments: only UUID-like characters. */
export function checkBuildId(buildId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(buildId)) {
    throw new Error(`invalid build id ${JSON.stringify(buildId)}`);
  }
  return buildId;
}

export function workDirName(buildId: string, arch: string, pid: number): string {
  return `b-${checkBuildId(buildId)}-${arch}-${pid}`;
}

export function workDirLayout(root: string, buildId: string, arch: string, pid: number): WorkDir {
  const path = join(root, workDirName(buildId, arch, pid));
  return {
    path,
    upper: join(path, 'upper'),
    ovlwork: join(path, 'ovlwork'),
    merged: join(path, 'merged'),
    prepUpper: join(path, 'prep', 'upper'),
    prepWork: join(path, 'prep', 'work'),
    caches: join(path, 'caches'),
    pkg: join(path, 'pkg'),
    pkgUpper: join(path, 'pkg-layer', 'upper'),
    pkgWork: join(path, 'pkg-layer', 'work'),
    out: join(path, 'out'),
  };
}

/**
 * Creates the work dir of this process's build and records its owner (pid + start time); with
 * `subids`, enterable by and with upper layers owned by the range's root (see above).
 */
export async function createWorkDir(
  root: string,
  buildId: string,
  arch: string,
  subids?: IdRange,
): Promise<WorkDir> {
  const wd = workDirLayout(root, buildId, arch, process.pid);
  await removeTree(wd.path); // a leftover of an earlier process that had our pid
  await mkdir(wd.path, { recursive: true, mode: subids ? 0o710 : 0o700 });
  for (const d of [
    wd.upper,
    wd.ovlwork,
    wd.merged,
    wd.prepUpper,
    wd.prepWork,
    wd.caches,
    wd.pkg,
    wd.pkgUpper,
    wd.pkgWork,
    wd.out,
  ]) {
    await mkdir(d, { recursive: true });
  }
  if (subids) {
    await chown(wd.path, 0, subids.first);
    for (const d of [wd.upper, wd.prepUpper]) await chown(d, subids.first, subids.first);
  }
  const start = await processStartTime(process.pid);
  await writeFile(join(wd.path, OWNER_FILE), JSON.stringify({ pid: process.pid, start }));
  return wd;
}

async function ownerAlive(dir: string, pid: number): Promise<boolean> {
  const start = await processStartTime(pid);
  if (start === null) return false;
  try {
    const owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as { start?: unknown };
    // Same pid, other start time: the pid was reused by an unrelated process.
    if (typeof owner.start === 'number' && owner.start !== start) return false;
  } catch {
    // No owner file yet (the child died while creating it) or unreadable: trust the pid.
  }
  return true;
}

/**
 * Removes work dirs whose owner process is gone. Work dirs of live builds (of this or another
 * worker on the host) are left alone. Returns the names removed.
 */
export async function removeDeadWorkDirs(root: string, log: Logger): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m?.[3]) continue;
    const dir = join(root, name);
    if (await ownerAlive(dir, Number(m[3]))) continue;
    try {
      await removeTree(dir);
      removed.push(name);
      log.info({ dir }, 'removed work dir of a dead build');
    } catch (err) {
      log.warn({ dir, err }, 'cannot remove work dir of a dead build');
    }
  }
  return removed;
}
