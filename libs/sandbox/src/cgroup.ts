// cgroup management for jobs and builds: detect the host's cgroup layout once, refuse limits it
// cannot enforce, create one group per job/build under <our own cgroup>/<namespace>/<name>, and
// remove whatever a crashed predecessor left. v2 hosts use the unified hierarchy alone
// (cgroup-v2.ts); v1 and hybrid hosts use one v1 hierarchy per controller (cgroup-v1.ts).
import { existsSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCgroupLayout, type CgroupLayout } from './cgroups.js';
import { removeGroupDirs, CgroupHandle } from './cgroup-handle.js';
import { DEFAULT_CGROUP_STATE_DIR, LeaseStore } from './cgroup-lease.js';
import { checkLimits } from './cgroup-limits.js';
import { mkdirCg } from './cgroup-fs.js';
import type {
  Cgroup,
  CgroupBackend,
  CgroupLimits,
  CgroupSupport,
  GroupDirs,
} from './cgroup-types.js';
import { V1Backend } from './cgroup-v1.js';
import { V2Backend } from './cgroup-v2.js';
import { SandboxError, SandboxErrorCode } from './errors.js';

/** Options of {@link CgroupManager.detect}. */
export interface CgroupManagerOptions {
  /** The layout to use instead of detecting it (tests). */
  layout?: CgroupLayout;
  /** All our cgroups live under this name inside our own cgroup. Default `'joblet'`. */
  namespace?: string;
  /** Where group ownership is recorded (see cgroup-lease.ts). Default `/run/joblet/cgroups`. */
  stateDir?: string;
  /** How long kill() waits for a group to empty, in milliseconds. Default 10 000. */
  killTimeoutMs?: number;
}

/** Group and namespace names: they become directory names on cgroupfs. */
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;

function checkName(what: string, name: string): string {
  if (!NAME_RE.test(name)) {
    throw new SandboxError(
      `invalid cgroup ${what} '${name}': use 1-100 of [a-z0-9._-], starting with a letter or digit`,
      SandboxErrorCode.InvalidSpec,
    );
  }
  return name;
}

/**
 * Creates, limits and removes the cgroups of jobs and builds.
 * @example
 * const cgroups = await CgroupManager.detect({ namespace: 'joblet-jobs' });
 * await cgroups.cleanupStale();
 * const cg = await cgroups.create(`job-${id}`, { memoryBytes: 512 << 20, cpuPercent: 50 });
 * try {
 *   const { cmd, args } = cg.wrap('python3', ['job.py']);
 *   await run(cmd, args);
 *   const { oomKills, cpuUsageUsec } = await cg.stats();
 * } finally {
 *   await cg.destroy();
 * }
 */
export class CgroupManager {
  /** Groups this manager created and has not destroyed yet, by name. */
  private readonly live = new Map<string, Cgroup>();
  private ready: Promise<void> | undefined;

  private constructor(
    readonly layout: CgroupLayout,
    readonly namespace: string,
    private readonly backend: CgroupBackend,
    private readonly leases: LeaseStore,
    private readonly killTimeoutMs: number,
  ) {}

  /** Detects the host's cgroup layout and what it can enforce (once, at start-up). */
  static async detect(opts: CgroupManagerOptions = {}): Promise<CgroupManager> {
    const layout = opts.layout ?? (await detectCgroupLayout());
    const namespace = checkName('namespace', opts.namespace ?? 'joblet');
    const backend =
      layout.version === 'v2' && layout.unified
        ? await V2Backend.create(layout, namespace)
        : await V1Backend.create(layout, namespace);
    const leases = new LeaseStore(join(opts.stateDir ?? DEFAULT_CGROUP_STATE_DIR, namespace));
    return new CgroupManager(layout, namespace, backend, leases, opts.killTimeoutMs ?? 10_000);
  }

  /** Which limits this host can enforce; used to refuse requests early with a clear message. */
  supports(): CgroupSupport {
    return { ...this.backend.support };
  }

  /**
   * Throws a {@link SandboxError} with code LIMIT_UNSUPPORTED naming the limit and the reason
   * (e.g. "io limit: the blkio controller is not available on this host ...") or LIMIT_INVALID
   * (memory below 4 MiB, a CPU that is not online, a partition as io device, ...).
   */
  check(limits: CgroupLimits): void {
    checkLimits(limits, this.backend);
  }

  /** The directory of our namespace in each hierarchy used (one on v2). */
  namespaceDirs(): string[] {
    return this.backend.namespaceDirs();
  }

  private setup(): Promise<void> {
    this.ready ??= this.backend.setup().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  /**
   * Creates the group `name` (`[a-z0-9._-]`, unique per job or build) with `limits`, in every
   * hierarchy it needs, after {@link check}. Throws CGROUP_EXISTS when the name is taken (a
   * leftover: see {@link cleanupStale}); on any failure nothing is left behind.
   */
  async create(name: string, limits: CgroupLimits = {}): Promise<Cgroup> {
    checkName('name', name);
    this.check(limits);
    await this.setup();
    if (this.live.has(name)) throw exists(name);
    const dirs = this.backend.dirsFor(name, limits);
    if (Object.keys(dirs).length === 0) {
      throw new SandboxError(
        'no cgroup hierarchy is mounted on this host',
        SandboxErrorCode.CgroupFailed,
      );
    }
    // The lease first: a group is never visible without its owner (see cgroup-lease.ts).
    if (!(await this.leases.write(name))) throw exists(name);
    const made: GroupDirs = {};
    try {
      for (const [h, dir] of Object.entries(dirs) as [keyof GroupDirs, string][]) {
        if (Object.values(made).includes(dir))
          made[h] = dir; // co-mounted: created already
        else if (await mkdirCg(dir)) made[h] = dir;
        else throw exists(name);
      }
      await this.backend.apply(dirs, limits);
    } catch (e) {
      await removeGroupDirs(made).catch(() => undefined);
      await this.leases.remove(name);
      throw e;
    }
    const group = new CgroupHandle(name, dirs, this.backend, this.killTimeoutMs, async () => {
      this.live.delete(name);
      await this.leases.remove(name);
    });
    this.live.set(name, group);
    return group;
  }

  /**
   * Removes the groups under our namespace (whose names start with `prefix`) left by a crashed
   * process: those whose creator is no longer running, or that have no owner on record. Any
   * process still inside is killed first. Groups of live managers — this one included — are left
   * alone. Returns the names removed. Call at worker/agent start.
   */
  async cleanupStale(prefix = ''): Promise<string[]> {
    await this.setup();
    const names = new Set(await this.leases.names());
    for (const dir of this.backend.namespaceDirs()) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) names.add(e.name);
    }
    const removed: string[] = [];
    for (const name of [...names].sort()) {
      if (!name.startsWith(prefix) || !NAME_RE.test(name) || this.live.has(name)) continue;
      const lease = await this.leases.read(name);
      if (lease && (await LeaseStore.ownerAlive(lease))) continue;
      const all = this.backend.dirsFor(name, 'all');
      const dirs: GroupDirs = {};
      for (const [h, dir] of Object.entries(all) as [keyof GroupDirs, string][]) {
        if (existsSync(dir)) dirs[h] = dir;
      }
      await this.backend.kill(dirs, this.killTimeoutMs);
      await removeGroupDirs(dirs);
      await this.leases.remove(name);
      removed.push(name);
    }
    return removed;
  }

  /**
   * Removes the namespace directories and the lease directory when they are empty (uninstall,
   * tests); groups still present keep them. Our own processes stay where they are.
   */
  async removeNamespace(): Promise<void> {
    for (const dir of [...this.backend.namespaceDirs(), this.leases.dir]) {
      await rmdir(dir).catch(() => undefined);
    }
    this.ready = undefined;
  }
}

function exists(name: string): SandboxError {
  return new SandboxError(
    `cgroup '${name}' already exists (left by a crashed process? see cleanupStale)`,
    SandboxErrorCode.CgroupExists,
  );
}
