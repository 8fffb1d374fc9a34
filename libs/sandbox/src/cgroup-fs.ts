// File operations on cgroupfs shared by the v1 and v2 backends: writes whose errors name the
// file and value, directory creation and removal (with the EBUSY retry), listing members, and
// the kill loop used where `cgroup.kill` does not exist.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCpuList, parseProcs } from './cgroup-format.js';
import { SandboxError, SandboxErrorCode } from './errors.js';

function failed(what: string, e: unknown): SandboxError {
  const err = e as NodeJS.ErrnoException;
  return new SandboxError(`${what}: ${err.code ?? err.message}`, SandboxErrorCode.CgroupFailed, {
    cause: e,
  });
}

/**
 * Writes `value` to a cgroup interface file in one write(2) (files such as `cgroup.procs`,
 * `io.max` take one item per write). Throws CGROUP_FAILED naming the file and the value.
 */
export async function writeCg(file: string, value: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch (e) {
    throw failed(`cannot write '${value}' to ${file}`, e);
  }
}

/** Reads a cgroup file; undefined when it does not exist (older kernel, controller absent). */
export async function readCg(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV') return undefined;
    throw failed(`cannot read ${file}`, e);
  }
}

/** CPUs the host has online now (/sys/devices/system/cpu/online). */
export async function onlineCpus(): Promise<number[]> {
  return parseCpuList((await readCg('/sys/devices/system/cpu/online')) ?? '') ?? [];
}

/** Pids in `dir`'s `cgroup.procs`; none when the directory is gone. */
export async function procsOf(dir: string): Promise<number[]> {
  return parseProcs((await readCg(`${dir}/cgroup.procs`)) ?? '');
}

/** Pids in any of `dirs`, deduplicated. */
export async function procsOfAll(dirs: readonly string[]): Promise<number[]> {
  const all = await Promise.all(dirs.map(procsOf));
  return [...new Set(all.flat())];
}

/** Creates one cgroup directory; false when it already exists. */
export async function mkdirCg(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw failed(`cannot create cgroup ${dir}`, e);
  }
}

/** Total time rmdir retries EBUSY, in milliseconds: a group reads as populated for ~1 ms after
 * its last process exits, longer on a loaded machine. */
const RMDIR_RETRY_MS = 2_000;

/** Removes a cgroup directory (gone already is fine), retrying EBUSY with a short backoff. */
export async function rmdirCg(dir: string, retryMs = RMDIR_RETRY_MS): Promise<void> {
  const deadline = Date.now() + retryMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 100)) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() >= deadline) {
        const pids = await procsOf(dir).catch(() => []);
        const left = pids.length > 0 ? ` (pids ${pids.join(' ')} still inside)` : '';
        throw failed(`cannot remove cgroup ${dir}${left}`, e);
      }
    }
    await sleep(delay);
  }
}

/** Waits until none of `dirs` has a process; false when `deadline` (epoch ms) passes first. */
export async function waitEmpty(dirs: readonly string[], deadline: number): Promise<boolean> {
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if ((await procsOfAll(dirs)).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
  }
}

/** How to stop a group's processes from forking while we kill them (optional). */
export interface Freezer {
  freeze(): Promise<void>;
  thaw(): Promise<void>;
}

/**
 * Kills every process in `dirs` without `cgroup.kill`: freeze (so nothing forks between reading
 * `cgroup.procs` and the signals), SIGKILL every pid, thaw (frozen tasks die on thaw), and repeat
 * until empty. Without a freezer, repetition alone catches what forked in between. False when
 * `deadline` (epoch ms) passes first.
 */
export async function killLoop(
  dirs: readonly string[],
  freezer: Freezer | undefined,
  deadline: number,
): Promise<boolean> {
  for (;;) {
    if (freezer) await freezer.freeze();
    try {
      for (const pid of await procsOfAll(dirs)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ESRCH: exited meanwhile.
        }
      }
    } finally {
      if (freezer) await freezer.thaw();
    }
    if (await waitEmpty(dirs, Math.min(deadline, Date.now() + 50))) return true;
    if (Date.now() >= deadline) return false;
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last answer. */
export async function pollUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
  }
}

/**
 * Kills every process in a group: with `killFile` (`cgroup.kill`, kernel 5.14+) the kernel kills
 * the whole subtree at once, forks in flight included; for anything still left after half the
 * time, or without it, {@link killLoop}. Returns once the group is empty; throws CGROUP_FAILED
 * after `timeoutMs`.
 */
export async function killGroup(
  dirs: readonly string[],
  how: { killFile?: string | undefined; freezer?: Freezer | undefined },
  timeoutMs: number,
): Promise<void> {
  if ((await procsOfAll(dirs)).length === 0) return;
  const start = Date.now();
  const deadline = start + timeoutMs;
  if (how.killFile !== undefined) {
    await writeCg(how.killFile, '1');
    if (await waitEmpty(dirs, start + timeoutMs / 2)) return;
  }
  if (await killLoop(dirs, how.freezer, deadline)) return;
  throw new SandboxError(
    `cgroup not empty ${timeoutMs} ms after SIGKILL: pids ${(await procsOfAll(dirs)).join(' ')} ` +
      `in ${dirs.join(', ')}`,
    SandboxErrorCode.CgroupFailed,
  );
}
