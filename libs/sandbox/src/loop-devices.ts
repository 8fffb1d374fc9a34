// Loop devices and the files behind them, as the kernel lists them in /sys/block/loop*/loop.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { run, succeeded } from './exec.js';
import { SandboxError, SandboxErrorCode } from './errors.js';

const SYS_BLOCK = '/sys/block';
/** What the kernel appends to the backing file's path once the file is unlinked. */
const DELETED = ' (deleted)';

export interface LoopDevice {
  /** `/dev/loop3`. */
  device: string;
  /** The backing file's path, without the ` (deleted)` mark. */
  file: string;
  deleted: boolean;
}

/** Every attached loop device with its backing file. */
export async function loopDevices(sysBlock = SYS_BLOCK): Promise<LoopDevice[]> {
  const out: LoopDevice[] = [];
  for (const name of await readdir(sysBlock).catch(() => [])) {
    if (!/^loop\d+$/.test(name)) continue;
    const raw = await readFile(join(sysBlock, name, 'loop', 'backing_file'), 'utf8').catch(
      () => undefined,
    );
    if (raw === undefined) continue; // not attached
    const path = raw.replace(/\n$/, '');
    const deleted = path.endsWith(DELETED);
    out.push({
      device: `/dev/${name}`,
      file: deleted ? path.slice(0, -DELETED.length) : path,
      deleted,
    });
  }
  return out;
}

/**
 * Loop devices whose backing file is `path` (or, with `under`, lies below the directory
 * `path`), deleted files included.
 */
export async function loopDevicesBackedBy(
  path: string,
  opts: { under?: boolean } = {},
): Promise<string[]> {
  const p = resolve(path);
  return (await loopDevices())
    .filter((l) => l.file === p || (opts.under === true && l.file.startsWith(`${p}/`)))
    .map((l) => l.device);
}

/** `losetup -d`; a device already detached is fine. */
export async function detachLoopDevice(device: string): Promise<void> {
  const r = await run('losetup', ['-d', device], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
  });
  if (succeeded(r)) return;
  const attached = (await loopDevices()).some((l) => l.device === device);
  if (attached) {
    throw new SandboxError(
      `detaching ${device} failed: ${r.stderr.trim()}`,
      SandboxErrorCode.DiskFailed,
    );
  }
}
