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

/** True when the kernel detaches `device` by itself once its last user closes it. */
async function autoclear(device: string): Promise<boolean> {
  const name = device.replace(/^\/dev\//, '');
  const flag = await readFile(join(SYS_BLOCK, name, 'loop', 'autoclear'), 'utf8').catch(() => '');
  return flag.trim() === '1';
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

/**
 * `losetup -d`. A device still in use is only marked for autoclear by the kernel: its filesystem
 * is still mounted in another mount namespace — one a process created (unshare, a sandbox
 * starting) while the mount existed, which holds a copy until it drops it or ends. Waits up to
 * `waitMs` for it to go; one still there then, marked autoclear, goes by itself when that copy
 * does. A device already detached is fine.
 */
export async function detachLoopDevice(device: string, waitMs = 5_000): Promise<void> {
  const r = await run('losetup', ['-d', device], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
  });
  const deadline = Date.now() + waitMs;
  while ((await loopDevices()).some((l) => l.device === device)) {
    if (Date.now() >= deadline) {
      if (await autoclear(device)) return;
      const why = succeeded(r) ? 'it is still in use' : r.stderr.trim();
      throw new SandboxError(`detaching ${device} failed: ${why}`, SandboxErrorCode.DiskFailed);
    }
    await new Promise((ok) => setTimeout(ok, 50));
  }
}
