// The lower layer of system-root jobs (runtimes whose base is a plain Debian root, the farm's
// default runtime): a copy of the runtime's `isolated/` owned by the uid that is root of the
// job's user namespace. The installed tree is 0:0, which that namespace cannot map — its root
// could not write /etc of an overlay over it — and shares inodes with other runtimes through
// the node's file store, so it is never chowned in place. One copy per installed runtime, made on
// first need (one at a time per runtime), kept under `AGENT_WORK_DIR/.system-roots` (0700: no
// process of that uid on the host can reach it); jobs only ever see it through their own overlay.
import { chmod, lstat, mkdir, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeTree } from '@joblet/artifact';
import { commandError, run } from '@joblet/sandbox';

export interface SystemRootsOptions {
  /** `AGENT_WORK_DIR/.system-roots`. */
  dir: string;
  /** Host uid/gid that is root in the jobs' user namespace. */
  uid: number;
  gid: number;
}

const TEMP_PREFIX = '.tmp-';

export class SystemRoots {
  private readonly making = new Map<string, Promise<string>>();

  constructor(private readonly o: SystemRootsOptions) {}

  /** The key of a runtime dir's current install: a reinstall renames a new tree (new inode). */
  private async key(runtimeDir: string): Promise<string> {
    const st = await lstat(join(runtimeDir, 'isolated'));
    return `${basename(dirname(runtimeDir))}@${basename(runtimeDir)}@${st.ino}`;
  }

  /** The shifted copy of `runtimeDir`'s tree (the caller holds a lease on the runtime). */
  async lower(runtimeDir: string): Promise<string> {
    const key = await this.key(runtimeDir);
    const target = join(this.o.dir, key);
    if (await exists(target)) return target;
    let p = this.making.get(key);
    if (!p) {
      p = this.make(runtimeDir, key, target).finally(() => this.making.delete(key));
      this.making.set(key, p);
    }
    return p;
  }

  private async make(runtimeDir: string, key: string, target: string): Promise<string> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    await chmod(this.o.dir, 0o700);
    const tmp = join(this.o.dir, `${TEMP_PREFIX}${key}-${process.pid}`);
    await removeTree(tmp);
    try {
      await mkdir(tmp, { mode: 0o755 });
      await check(run('cp', ['-a', '--reflink=auto', `${join(runtimeDir, 'isolated')}/.`, tmp]));
      await check(run('chown', ['-R', '-h', `${this.o.uid}:${this.o.gid}`, tmp]));
      await rename(tmp, target);
    } catch (err) {
      await removeTree(tmp);
      throw err;
    }
    // Older installs of the same runtime version are not in use: jobs lease the runtime, and a
    // reinstall waits for the leases.
    const prefix = key.slice(0, key.lastIndexOf('@') + 1);
    for (const name of await readdir(this.o.dir)) {
      if (name.startsWith(prefix) && name !== key) await removeTree(join(this.o.dir, name));
    }
    return target;
  }

  /**
   * Removes copies whose runtime is no longer installed as it was, and temp dirs a crash left
   * (at start-up). `versionDir` maps a name and version to its runtime dir.
   */
  async prune(versionDir: (name: string, version: string) => string): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.o.dir).catch(() => [])) {
      const m = /^(.+)@([^@]+)@(\d+)$/.exec(name);
      const current = m
        ? await this.key(versionDir(m[1]!, m[2]!)).catch(() => undefined)
        : undefined;
      if (current === name) continue;
      await removeTree(join(this.o.dir, name));
      removed.push(name);
    }
    return removed;
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function check(r: ReturnType<typeof run>): Promise<void> {
  const res = await r;
  if (res.code !== 0) throw commandError(res);
}
