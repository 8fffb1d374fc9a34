// Which disk a path lives on, as the `'MAJ:MIN'` that I/O limits (`ioBps`) take: cgroup I/O
// throttling applies to whole disks, so a partition is mapped to its disk.
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { splitDev } from './cgroup-format.js';

/**
 * The `'MAJ:MIN'` of the whole disk holding `path` (e.g. `'254:0'` for /dev/vda), or undefined
 * when its filesystem has no block device (tmpfs, overlayfs, btrfs subvolumes, NFS).
 * @param sysBlockDir - /sys/dev/block (a parameter for tests).
 */
export async function blockDeviceOf(
  path: string,
  sysBlockDir = '/sys/dev/block',
): Promise<string | undefined> {
  const { major, minor } = splitDev((await stat(path)).dev);
  if (major === 0) return undefined; // anonymous device: no disk behind it
  const sys = join(sysBlockDir, `${major}:${minor}`);
  if (!existsSync(sys)) return undefined;
  if (!existsSync(join(sys, 'partition'))) return `${major}:${minor}`;
  // /sys/dev/block/8:1 → .../block/sda/sda1: the disk is the parent directory.
  const disk = dirname(await realpath(sys));
  return (await readFile(join(disk, 'dev'), 'utf8')).trim();
}
