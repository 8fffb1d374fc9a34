// The cgroup v2 backend, for hosts with the unified hierarchy at /sys/fs/cgroup (cgroup2fs):
// one directory per group, <own cgroup>/<namespace>/<name>.
//
// The "no internal processes" rule: a v2 cgroup can pass controllers to its children (write
// "+memory +cpu ..." to its cgroup.subtree_control) only while it has no processes of its own,
// the root excepted. Our own cgroup holds at least this process (a systemd service's cgroup
// holds the service), so when enabling fails with EBUSY we move every process of our cgroup into
// a leaf beside the namespace, `<own>/joblet-supervisor`, and retry — what systemd asks of a
// service with Delegate=yes. A process that later starts in that leaf (a child of ours, or the
// daemon after a re-exec) treats the leaf's parent as its own cgroup, so it finds the same
// namespace instead of nesting a new one.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CgroupLayout, CgroupV2Info } from './cgroups.js';
import {
  formatCpuList,
  formatCpuMax,
  formatIoMax,
  parseCpuList,
  parseKeyedFile,
  parseNumberFile,
} from './cgroup-format.js';
import {
  killGroup,
  mkdirCg,
  onlineCpus,
  pollUntil,
  procsOf,
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
} from './cgroup-types.js';
import type { SandboxError } from './errors.js';
import { kernelAtLeast } from './host-probe.js';

/** Leaf our own processes move into so our cgroup may enable controllers for children. */
export const SUPERVISOR_LEAF = 'joblet-supervisor';

/** Controllers we enable for groups, as named in cgroup.controllers. */
const V2_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids'] as const;

const CONTROLLER_OF: Record<keyof CgroupSupport, string> = {
  memory: 'memory',
  cpu: 'cpu',
  cpuset: 'cpuset',
  pids: 'pids',
  io: 'io',
  kill: 'cgroup.kill/cgroup.freeze',
  oomGroup: 'memory',
};

/** How long to wait for `cgroup.freeze` to report frozen before killing anyway (ms). */
const FREEZE_WAIT_MS = 1_000;

/** The cgroup our namespace lives in: our own, or the parent of the supervisor leaf. */
export function v2BaseDir(u: CgroupV2Info): string {
  return basename(u.ownDir) === SUPERVISOR_LEAF ? dirname(u.ownDir) : u.ownDir;
}

/**
 * The `"+cpu +memory ..."` line for cgroup.subtree_control: those of our controllers that
 * `available` (a cgroup.controllers text) offers.
 */
export function subtreeControlLine(available: string): string {
  const have = new Set(available.split(/\s+/));
  return V2_CONTROLLERS.filter((c) => have.has(c))
    .map((c) => `+${c}`)
    .join(' ');
}

/** cgroup v2 backend; see the file comment. */
export class V2Backend implements CgroupBackend {
  readonly support: CgroupSupport;

  private constructor(
    private readonly base: string,
    private readonly namespace: string,
    private readonly controllers: readonly string[],
    readonly allowedCpus: readonly number[],
    private readonly hasKill: boolean,
    private readonly hasFreeze: boolean,
  ) {
    const has = (c: string) => controllers.includes(c);
    this.support = {
      memory: has('memory'),
      cpu: has('cpu'),
      cpuset: has('cpuset'),
      pids: has('pids'),
      io: has('io'),
      kill: hasKill || hasFreeze,
      oomGroup: has('memory'),
    };
  }

  /** Probes the unified hierarchy of a v2 `layout` for groups under `namespace`. */
  static async create(layout: CgroupLayout, namespace: string): Promise<V2Backend> {
    const u = layout.unified;
    if (!u) throw new Error('V2Backend needs a unified hierarchy'); // the manager checks
    const base = v2BaseDir(u);
    const controllers = ((await readCg(join(base, 'cgroup.controllers'))) ?? '')
      .split(/\s+/)
      .filter(Boolean);
    const effective = parseCpuList((await readCg(join(base, 'cpuset.cpus.effective'))) ?? '');
    const isRoot = base === u.mountPoint;
    // The root cgroup lacks the core files its children have: fall back to the kernel version.
    const hasKill = existsSync(join(base, 'cgroup.kill')) || (isRoot && kernelAtLeast(5, 14));
    const hasFreeze = existsSync(join(base, 'cgroup.freeze')) || (isRoot && kernelAtLeast(5, 2));
    const allowed = effective?.length ? effective : await onlineCpus();
    return new V2Backend(base, namespace, controllers, allowed, hasKill, hasFreeze);
  }

  unsupportedReason(limit: keyof CgroupSupport): string {
    return (
      `the ${CONTROLLER_OF[limit]} controller is not available to this process's cgroup ` +
      `(${this.base}: cgroup.controllers lists ${this.controllers.join(' ') || 'nothing'})`
    );
  }

  namespaceDirs(): string[] {
    return [join(this.base, this.namespace)];
  }

  async setup(): Promise<void> {
    const line = subtreeControlLine(this.controllers.join(' '));
    const ns = join(this.base, this.namespace);
    if (line !== '') {
      try {
        await writeCg(join(this.base, 'cgroup.subtree_control'), line);
      } catch (e) {
        const code = ((e as SandboxError).cause as NodeJS.ErrnoException | undefined)?.code;
        if (code !== 'EBUSY') throw e;
        await this.moveOwnProcessesToLeaf();
        await writeCg(join(this.base, 'cgroup.subtree_control'), line);
      }
    }
    await mkdir(ns, { recursive: true });
    if (line !== '') await writeCg(join(ns, 'cgroup.subtree_control'), line);
  }

  /** Moves every process of our cgroup into {@link SUPERVISOR_LEAF} (see the file comment). */
  private async moveOwnProcessesToLeaf(): Promise<void> {
    const leaf = join(this.base, SUPERVISOR_LEAF);
    await mkdirCg(leaf);
    // Processes may fork while we move them: repeat until none is left (a few rounds at most).
    for (let round = 0; round < 10; round++) {
      const pids = await procsOf(this.base);
      if (pids.length === 0) return;
      for (const pid of pids) {
        await writeCg(join(leaf, 'cgroup.procs'), String(pid)).catch(() => undefined); // exited
      }
    }
  }

  dirsFor(name: string): GroupDirs {
    return { unified: join(this.base, this.namespace, name) };
  }

  async apply(dirs: GroupDirs, limits: CgroupLimits): Promise<void> {
    const d = dirs.unified;
    if (d === undefined) return;
    if (limits.memoryBytes !== undefined) {
      await writeCg(join(d, 'memory.max'), String(limits.memoryBytes));
      // memory.max covers RAM only: no swap, so swapping cannot stretch the limit.
      if (existsSync(join(d, 'memory.swap.max'))) await writeCg(join(d, 'memory.swap.max'), '0');
      // On OOM the kernel kills the whole group, not just the largest process.
      await writeCg(join(d, 'memory.oom.group'), '1');
    }
    if (limits.cpuPercent !== undefined) {
      await writeCg(join(d, 'cpu.max'), formatCpuMax(limits.cpuPercent));
    }
    if (limits.cpus !== undefined) {
      const cpus = parseCpuList(limits.cpus) ?? []; // validated by check()
      await writeCg(join(d, 'cpuset.cpus'), formatCpuList(cpus));
    }
    if (limits.pidsMax !== undefined) await writeCg(join(d, 'pids.max'), String(limits.pidsMax));
    for (const io of limits.ioBps ?? []) {
      await writeCg(join(d, 'io.max'), formatIoMax(io.device, io.readBps, io.writeBps));
    }
  }

  async stats(dirs: GroupDirs): Promise<CgroupStats> {
    const d = dirs.unified;
    if (d === undefined) return { cpuUsageUsec: 0, oomKills: 0, pids: 0 };
    const num = async (file: string) => parseNumberFile((await readCg(join(d, file))) ?? '');
    const keyed = async (file: string) => parseKeyedFile((await readCg(join(d, file))) ?? '');
    const stats: CgroupStats = {
      cpuUsageUsec: (await keyed('cpu.stat')).usage_usec ?? 0,
      oomKills: (await keyed('memory.events')).oom_kill ?? 0,
      pids: (await procsOf(d)).length,
    };
    const peak = await num('memory.peak'); // kernel 5.19+
    if (peak !== undefined) stats.memoryPeakBytes = peak;
    const current = await num('memory.current');
    if (current !== undefined) stats.memoryCurrentBytes = current;
    const hits = (await keyed('pids.events')).max;
    if (hits !== undefined) stats.pidsLimitHits = hits;
    return stats;
  }

  async kill(dirs: GroupDirs, timeoutMs: number): Promise<void> {
    const d = dirs.unified;
    if (d === undefined) return;
    await killGroup(
      [d],
      {
        killFile: this.hasKill ? join(d, 'cgroup.kill') : undefined,
        freezer: this.hasFreeze ? v2Freezer(d) : undefined,
      },
      timeoutMs,
    );
  }
}

/** `cgroup.freeze` of `dir`; frozen once cgroup.events says `frozen 1`. */
function v2Freezer(dir: string): Freezer {
  return {
    async freeze() {
      await writeCg(join(dir, 'cgroup.freeze'), '1');
      await pollUntil(
        async () => parseKeyedFile((await readCg(join(dir, 'cgroup.events'))) ?? '').frozen === 1,
        FREEZE_WAIT_MS,
      );
    },
    async thaw() {
      await writeCg(join(dir, 'cgroup.freeze'), '0');
    },
  };
}
