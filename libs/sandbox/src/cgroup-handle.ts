// A created group: the parts that are the same on v1 and v2 (joining, adding, destroying); limits,
// stats and killing are the backend's.
import { join } from 'node:path';
import { rmdirCg, writeCg } from './cgroup-fs.js';
import type { Cgroup, CgroupBackend, CgroupStats, GroupDirs, Hierarchy } from './cgroup-types.js';
import { SandboxError, SandboxErrorCode } from './errors.js';

/**
 * The shell script of {@link Cgroup.wrap}. Positional parameters: the number N of cgroup
 * directories, the N directories, then the command and its arguments. It writes its own pid
 * (`$$`, the shell itself) into each directory's cgroup.procs, then `exec`s the command, which
 * keeps the pid: the command and everything it forks start inside the group. Nothing is ever
 * interpolated into the script; a failed join exits 125 before the command runs.
 */
export const JOIN_SCRIPT =
  'n=$1; shift; ' +
  'while [ "$n" -gt 0 ]; do ' +
  'echo "$$" > "$1/cgroup.procs" || { echo "cgroup-join: cannot join $1" >&2; exit 125; }; ' +
  'shift; n=$((n - 1)); ' +
  'done; ' +
  'exec "$@"';

/** Order of joining: the kill hierarchy first, so a group that can be killed has the process. */
const JOIN_ORDER: Hierarchy[] = [
  'unified',
  'freezer',
  'pids',
  'memory',
  'cpu',
  'cpuacct',
  'cpuset',
  'blkio',
];

/** The directories of `dirs`, deduplicated (co-mounted controllers share one), in join order. */
export function uniqueDirs(dirs: GroupDirs): string[] {
  return [...new Set(JOIN_ORDER.map((h) => dirs[h]).filter((d) => d !== undefined))];
}

/** Removes every directory of a group (each retrying EBUSY). */
export async function removeGroupDirs(dirs: GroupDirs): Promise<void> {
  for (const dir of uniqueDirs(dirs)) await rmdirCg(dir);
}

/** A group created by `CgroupManager.create`. */
export class CgroupHandle implements Cgroup {
  readonly paths: string[];
  private destroying: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly dirs: GroupDirs,
    private readonly backend: CgroupBackend,
    private readonly killTimeoutMs: number,
    /** Called once the directories are gone (drops the lease and the manager's entry). */
    private readonly onDestroyed: () => Promise<void>,
  ) {
    this.paths = uniqueDirs(dirs);
  }

  wrap(cmd: string, args: readonly string[]): { cmd: string; args: string[] } {
    // A leading '-' would be taken as an option of `exec` by some shells (bash).
    if (cmd === '' || cmd.startsWith('-') || [cmd, ...args].some((a) => a.includes('\0'))) {
      throw new SandboxError(`cannot wrap command '${cmd}'`, SandboxErrorCode.InvalidSpec);
    }
    return {
      cmd: '/bin/sh',
      args: [
        '-c',
        JOIN_SCRIPT,
        'cgroup-join',
        String(this.paths.length),
        ...this.paths,
        cmd,
        ...args,
      ],
    };
  }

  async addPid(pid: number): Promise<void> {
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      throw new SandboxError(`invalid pid ${pid}`, SandboxErrorCode.CgroupFailed);
    }
    for (const dir of this.paths) await writeCg(join(dir, 'cgroup.procs'), String(pid));
  }

  kill(): Promise<void> {
    return this.backend.kill(this.dirs, this.killTimeoutMs);
  }

  stats(): Promise<CgroupStats> {
    return this.backend.stats(this.dirs);
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await this.kill();
      await removeGroupDirs(this.dirs);
      await this.onDestroyed();
    })().catch((e: unknown) => {
      this.destroying = undefined; // a failed destroy may be retried
      throw e;
    });
    return this.destroying;
  }
}
