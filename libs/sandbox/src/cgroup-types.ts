// Types shared by the cgroup manager and its v1/v2 backends (kept apart so the backends and the
// manager do not import each other).

/** Resource limits of one job or build. Every limit is enforced or refused, never ignored. */
export interface CgroupLimits {
  /**
   * Hard memory limit in bytes (at least 4 MiB). Exceeding it gets the group OOM-killed.
   * v2: `memory.max`, `memory.swap.max` 0 and `memory.oom.group` 1 (the whole group dies).
   * v1: `memory.limit_in_bytes` and, where swap accounting exists, `memory.memsw.limit_in_bytes`
   * so swap cannot dodge the limit; v1 has no group OOM kill: the kernel kills the largest
   * process and the caller sees `oomKills` in {@link CgroupStats} (then {@link Cgroup.kill}).
   */
  memoryBytes?: number;
  /** CPU time in percent of one core: 100 = one full core, 50 = half a core, 150 = 1.5 cores. */
  cpuPercent?: number;
  /** CPUs the group may run on, as a cpuset list: `'0-3'`, `'1,3'`. Must be online here. */
  cpus?: string;
  /** Maximum number of tasks (processes and threads) in the group: forks beyond fail (EAGAIN). */
  pidsMax?: number;
  /**
   * Bandwidth limits per block device (`'MAJ:MIN'` of a whole disk, see `blockDeviceOf`), in
   * bytes per second. v1 throttles only direct I/O (buffered writeback is not attributed).
   */
  ioBps?: IoLimit[];
}

/** A bandwidth limit on one block device. */
export interface IoLimit {
  /** `'MAJ:MIN'` of a whole disk (a partition is refused by the kernel). */
  device: string;
  readBps?: number;
  writeBps?: number;
}

/** Resource usage of a group, readable after its processes have exited (until destroy). */
export interface CgroupStats {
  /** Highest memory use in bytes (v2 `memory.peak`, kernel 5.19+; v1 `max_usage_in_bytes`). */
  memoryPeakBytes?: number;
  memoryCurrentBytes?: number;
  /** CPU time used, user + system, in microseconds (v1 `cpuacct.usage` is ns, divided). */
  cpuUsageUsec: number;
  /** Processes the OOM killer killed in the group. */
  oomKills: number;
  /** Processes in the group now. */
  pids: number;
  /** Forks refused because of `pidsMax` (`pids.events` max). */
  pidsLimitHits?: number;
}

/** Which limits this host can enforce (see `CgroupManager.supports`). */
export interface CgroupSupport {
  memory: boolean;
  cpu: boolean;
  cpuset: boolean;
  pids: boolean;
  io: boolean;
  /** Killing a whole group reliably, forks included (`cgroup.kill` or a freezer). */
  kill: boolean;
  /** The kernel kills the whole group on OOM (v2 `memory.oom.group`); false on v1. */
  oomGroup: boolean;
}

/** One job's or build's cgroup (one directory per v1 hierarchy, or one v2 directory). */
export interface Cgroup {
  readonly name: string;
  /** One directory per controller hierarchy used (v1), or the single v2 directory. */
  readonly paths: string[];
  /**
   * A command line that joins the cgroup(s) and then execs `cmd args`, so no child can escape by
   * forking before it is moved: `/bin/sh -c SCRIPT` with the paths, `cmd` and `args` passed as
   * positional parameters, never interpolated into the script. Must run as root (cgroup.procs
   * belongs to root); drop privileges after it (e.g. `setpriv`), as `spawnInSandbox` does.
   */
  wrap(cmd: string, args: readonly string[]): { cmd: string; args: string[] };
  /** Moves an existing process (not its existing children) into the group. */
  addPid(pid: number): Promise<void>;
  /** SIGKILLs every process in the group and waits until it is empty. */
  kill(): Promise<void>;
  stats(): Promise<CgroupStats>;
  /**
   * {@link kill}, then removes every directory (retrying the EBUSY seen for ~1 ms after the
   * last exit). Idempotent.
   */
  destroy(): Promise<void>;
}

/** Hierarchies a group may live in: the v1 controllers we use, and the unified (v2) one. */
export type Hierarchy =
  'memory' | 'cpu' | 'cpuacct' | 'cpuset' | 'pids' | 'blkio' | 'freezer' | 'unified';

/** A group's directory per hierarchy (co-mounted v1 controllers share one directory). */
export type GroupDirs = Partial<Record<Hierarchy, string>>;

/** What differs between cgroup v1 (and hybrid) and v2; the manager does the rest. */
export interface CgroupBackend {
  readonly support: CgroupSupport;
  /** Why `limit` cannot be enforced here, e.g. "the blkio controller is not available". */
  unsupportedReason(limit: keyof CgroupSupport): string;
  /** CPUs a group may be given (our own cpuset's effective CPUs, else the online ones). */
  readonly allowedCpus: readonly number[];
  /** The directory of our namespace in each hierarchy used. */
  namespaceDirs(): string[];
  /** Creates the namespace directories (and on v2 enables controllers for children). */
  setup(): Promise<void>;
  /** Where a group `name` lives: for these limits, or `'all'` hierarchies (for cleanup). */
  dirsFor(name: string, limits: CgroupLimits | 'all'): GroupDirs;
  /** Writes the limits into freshly created directories. */
  apply(dirs: GroupDirs, limits: CgroupLimits): Promise<void>;
  stats(dirs: GroupDirs): Promise<CgroupStats>;
  /** Kills everything in the group and waits, up to `timeoutMs`, until it is empty. */
  kill(dirs: GroupDirs, timeoutMs: number): Promise<void>;
}
