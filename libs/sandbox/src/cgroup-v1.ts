// The cgroup v1 backend, for v1 and hybrid hosts (like the farm's machines): one directory per
// controller hierarchy, each created beneath OUR cgroup in that hierarchy as /proc/self/cgroup
// names it (here the memory one is nested, /process_api/<hash>, the others are at /).
//
// Killing: where a cgroup2 hierarchy is mounted beside the v1 ones (hybrid) and has
// `cgroup.kill`, the group also gets a directory there, used for nothing but killing: the kernel
// then kills every member atomically, forks in flight included. Otherwise the v1 freezer
// stops forks while every pid is SIGKILLed.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupLayout } from './cgroups.js';
import {
  CPU_PERIOD_US,
  cpuQuotaUs,
  formatBlkioThrottle,
  formatCpuList,
  parseCpuList,
  parseKeyedFile,
  parseNumberFile,
} from './cgroup-format.js';
import {
  killGroup,
  onlineCpus,
  pollUntil,
  procsOfAll,
  readCg,
  writeCg,
  type Freezer,
} from './cgroup-fs.js';
import type {
  CgroupBackend,
  CgroupLimits,
  CgroupStats,
  CgroupSupport,
  GroupDirs,
  Hierarchy,
} from './cgroup-types.js';
import { kernelAtLeast } from './host-probe.js';

/** The v1 controllers we create groups in (cpuacct for CPU time, freezer for killing). */
const V1_HIERARCHIES = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'freezer'] as const;

/** The kernel name of the controller behind each limit, for messages. */
const CONTROLLER_OF: Record<keyof CgroupSupport, string> = {
  memory: 'memory',
  cpu: 'cpu',
  cpuset: 'cpuset',
  pids: 'pids',
  io: 'blkio',
  kill: 'freezer',
  oomGroup: 'memory',
};

/** How long to wait for the v1 freezer to report FROZEN before killing anyway (ms). */
const FREEZE_WAIT_MS = 1_000;

/** cgroup v1 (and hybrid) backend; see the file comment. */
export class V1Backend implements CgroupBackend {
  readonly support: CgroupSupport;

  private constructor(
    private readonly layout: CgroupLayout,
    private readonly namespace: string,
    readonly allowedCpus: readonly number[],
    /** The cgroup2 hierarchy beside the v1 ones has `cgroup.kill`: use it for killing. */
    private readonly unifiedKill: boolean,
  ) {
    const v1 = layout.v1;
    const cfs = v1.cpu !== undefined && existsSync(join(v1.cpu.ownDir, 'cpu.cfs_quota_us'));
    this.support = {
      memory: v1.memory !== undefined,
      cpu: cfs,
      cpuset: v1.cpuset !== undefined,
      pids: v1.pids !== undefined,
      io: v1.blkio !== undefined,
      kill: unifiedKill || v1.freezer !== undefined,
      oomGroup: false,
    };
  }

  /** Probes what the v1 (or hybrid) `layout` offers for groups under `namespace`. */
  static async create(layout: CgroupLayout, namespace: string): Promise<V1Backend> {
    const cs = layout.v1.cpuset;
    const effective = cs
      ? parseCpuList((await readCg(join(cs.ownDir, 'cpuset.effective_cpus'))) ?? '')
      : undefined;
    const u = layout.unified;
    // The root cgroup has no cgroup.kill file, its children do (kernel 5.14+).
    const unifiedKill =
      u !== undefined &&
      (existsSync(join(u.ownDir, 'cgroup.kill')) || (u.ownPath === '/' && kernelAtLeast(5, 14)));
    const allowed = effective?.length ? effective : await onlineCpus();
    return new V1Backend(layout, namespace, allowed, unifiedKill);
  }

  unsupportedReason(limit: keyof CgroupSupport): string {
    if (limit === 'cpu' && this.layout.v1.cpu !== undefined) {
      return 'the kernel has no CFS bandwidth control (cpu.cfs_quota_us) on this host';
    }
    return `the ${CONTROLLER_OF[limit]} controller is not available on this host (cgroup ${this.layout.version})`;
  }

  /** Hierarchies in use: every v1 one present, plus the unified one when it can kill. */
  private hierarchies(): Hierarchy[] {
    const present: Hierarchy[] = V1_HIERARCHIES.filter((h) => this.layout.v1[h] !== undefined);
    return this.unifiedKill ? [...present, 'unified'] : present;
  }

  /** Our own cgroup's directory in hierarchy `h`. */
  private ownDir(h: Hierarchy): string {
    const dir = h === 'unified' ? this.layout.unified?.ownDir : this.layout.v1[h]?.ownDir;
    if (dir === undefined) throw new Error(`no ${h} hierarchy`); // callers check presence
    return dir;
  }

  namespaceDirs(): string[] {
    return [...new Set(this.hierarchies().map((h) => join(this.ownDir(h), this.namespace)))];
  }

  async setup(): Promise<void> {
    for (const dir of this.namespaceDirs()) await mkdir(dir, { recursive: true });
    const cs = this.layout.v1.cpuset;
    if (cs) {
      // A new v1 cpuset starts with no CPUs and no memory nodes, and a task cannot join it
      // until both are set: give the namespace what our own cpuset has.
      const ns = join(cs.ownDir, this.namespace);
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (((await readCg(join(ns, f))) ?? '').trim() === '') {
          await writeCg(join(ns, f), ((await readCg(join(cs.ownDir, f))) ?? '').trim());
        }
      }
    }
  }

  dirsFor(name: string, limits: CgroupLimits | 'all'): GroupDirs {
    const present = new Set(this.hierarchies());
    let wanted: Hierarchy[];
    if (limits === 'all') wanted = [...present];
    else {
      // memory, cpuacct and pids always: they give the stats (peak memory, CPU time, pids).
      wanted = ['memory', 'cpuacct', 'pids'];
      if (limits.cpuPercent !== undefined) wanted.push('cpu');
      if (limits.cpus !== undefined) wanted.push('cpuset');
      if (limits.ioBps?.length) wanted.push('blkio');
      wanted.push(this.unifiedKill ? 'unified' : 'freezer');
    }
    const dirs: GroupDirs = {};
    for (const h of wanted) {
      if (present.has(h)) dirs[h] = join(this.ownDir(h), this.namespace, name);
    }
    return dirs;
  }

  async apply(dirs: GroupDirs, limits: CgroupLimits): Promise<void> {
    if (limits.memoryBytes !== undefined && dirs.memory) {
      const bytes = String(limits.memoryBytes);
      await writeCg(join(dirs.memory, 'memory.limit_in_bytes'), bytes);
      // memsw = memory + swap. Set after limit_in_bytes: the kernel wants memsw >= limit.
      // Without swap accounting, swappiness 0 at least keeps the group's pages out of swap.
      if (existsSync(join(dirs.memory, 'memory.memsw.limit_in_bytes'))) {
        await writeCg(join(dirs.memory, 'memory.memsw.limit_in_bytes'), bytes);
      } else await writeCg(join(dirs.memory, 'memory.swappiness'), '0');
    }
    if (limits.cpuPercent !== undefined && dirs.cpu) {
      await writeCg(join(dirs.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      await writeCg(join(dirs.cpu, 'cpu.cfs_quota_us'), String(cpuQuotaUs(limits.cpuPercent)));
    }
    if (limits.cpus !== undefined && dirs.cpuset) {
      const parent = join(dirs.cpuset, '..');
      const mems = ((await readCg(join(parent, 'cpuset.mems'))) ?? '').trim();
      await writeCg(join(dirs.cpuset, 'cpuset.mems'), mems);
      const cpus = parseCpuList(limits.cpus) ?? []; // validated by check()
      await writeCg(join(dirs.cpuset, 'cpuset.cpus'), formatCpuList(cpus));
    }
    if (limits.pidsMax !== undefined && dirs.pids) {
      await writeCg(join(dirs.pids, 'pids.max'), String(limits.pidsMax));
    }
    if (limits.ioBps?.length && dirs.blkio) {
      const lines = formatBlkioThrottle(limits.ioBps);
      for (const l of lines.read)
        await writeCg(join(dirs.blkio, 'blkio.throttle.read_bps_device'), l);
      for (const l of lines.write) {
        await writeCg(join(dirs.blkio, 'blkio.throttle.write_bps_device'), l);
      }
    }
  }

  async stats(dirs: GroupDirs): Promise<CgroupStats> {
    const num = async (dir: string | undefined, file: string) =>
      dir === undefined ? undefined : parseNumberFile((await readCg(join(dir, file))) ?? '');
    const keyed = async (dir: string | undefined, file: string) =>
      dir === undefined ? {} : parseKeyedFile((await readCg(join(dir, file))) ?? '');
    const acctNs = await num(dirs.cpuacct, 'cpuacct.usage'); // nanoseconds
    const cpuUsageUsec =
      acctNs !== undefined
        ? Math.floor(acctNs / 1000)
        : ((await keyed(dirs.unified, 'cpu.stat')).usage_usec ?? 0);
    const stats: CgroupStats = {
      cpuUsageUsec,
      oomKills: (await keyed(dirs.memory, 'memory.oom_control')).oom_kill ?? 0,
      pids: (await procsOfAll(Object.values(dirs))).length,
    };
    const peak = await num(dirs.memory, 'memory.max_usage_in_bytes');
    if (peak !== undefined) stats.memoryPeakBytes = peak;
    const current = await num(dirs.memory, 'memory.usage_in_bytes');
    if (current !== undefined) stats.memoryCurrentBytes = current;
    const hits = (await keyed(dirs.pids, 'pids.events')).max;
    if (hits !== undefined) stats.pidsLimitHits = hits;
    return stats;
  }

  async kill(dirs: GroupDirs, timeoutMs: number): Promise<void> {
    const all = [...new Set(Object.values(dirs))];
    const killFile =
      dirs.unified !== undefined && this.unifiedKill
        ? join(dirs.unified, 'cgroup.kill')
        : undefined;
    const freezer = dirs.freezer !== undefined ? v1Freezer(dirs.freezer) : undefined;
    await killGroup(all, { killFile, freezer }, timeoutMs);
  }
}

/** The v1 freezer of group directory `dir` (FROZEN is reached asynchronously: poll it). */
function v1Freezer(dir: string): Freezer {
  const state = join(dir, 'freezer.state');
  return {
    async freeze() {
      await writeCg(state, 'FROZEN');
      // A task in uninterruptible sleep can keep the group FREEZING: kill anyway after a while.
      await pollUntil(async () => (await readCg(state))?.trim() === 'FROZEN', FREEZE_WAIT_MS);
    },
    async thaw() {
      await writeCg(state, 'THAWED');
    },
  };
}
