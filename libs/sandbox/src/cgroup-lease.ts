// Who owns each group: a small JSON file per group (pid and process start time of the creator)
// under a runtime directory, written before the group's directories are made and removed after
// they are gone. `cleanupStale` removes only groups whose owner is dead, so several managers
// (a worker and its build children, two agents, parallel tests) can share a namespace and call
// it at any time without killing each other's jobs. cgroupfs directories cannot hold our own
// files, hence a directory beside them; /run is a tmpfs, cleared on reboot like the cgroups.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime } from './file-lock.js';

/** Default root of lease directories (one subdirectory per namespace). */
export const DEFAULT_CGROUP_STATE_DIR = '/run/joblet/cgroups';

/** The owner of one group. */
export interface CgroupLease {
  pid: number;
  /** Start time of `pid` in clock ticks since boot, telling a reused pid from the owner. */
  start: number | null;
  createdAt: string;
}

let ownStart: Promise<number | null> | undefined;

/** Leases of one namespace, in `dir`. */
export class LeaseStore {
  constructor(readonly dir: string) {}

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  /**
   * Records this process as the owner of `name`; false when `name` already has an owner (dead
   * or alive), which is then left untouched. Atomic: the complete file is linked into place, so
   * a reader never sees a half-written lease.
   */
  async write(name: string): Promise<boolean> {
    ownStart ??= processStartTime(process.pid);
    const lease: CgroupLease = {
      pid: process.pid,
      start: await ownStart,
      createdAt: new Date().toISOString(),
    };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(name)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(lease));
    try {
      await link(tmp, this.file(name)); // EEXIST when taken
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** The lease of `name`, or undefined when there is none (or it is unreadable). */
  async read(name: string): Promise<CgroupLease | undefined> {
    try {
      const l = JSON.parse(await readFile(this.file(name), 'utf8')) as Partial<CgroupLease>;
      return typeof l.pid === 'number' ? (l as CgroupLease) : undefined;
    } catch {
      return undefined;
    }
  }

  async remove(name: string): Promise<void> {
    await unlink(this.file(name)).catch(() => undefined);
  }

  /** Names that have a lease. */
  async names(): Promise<string[]> {
    const entries = await readdir(this.dir).catch(() => []);
    return entries.filter((e) => e.endsWith('.json')).map((e) => e.slice(0, -'.json'.length));
  }

  /** True while the lease's owner runs (same pid, same start time). */
  static async ownerAlive(lease: CgroupLease): Promise<boolean> {
    const start = await processStartTime(lease.pid);
    if (start === null) return false;
    return lease.start === null || lease.start === start;
  }
}
