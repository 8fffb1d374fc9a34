// Detection of the host's cgroup layout, so job limits go through cgroup v2 where it exists and
// fall back to v1 per controller on hybrid hosts — never silently unenforced.
//
// Found on the farm's machines (Debian 12 VM, kernel 6.18, PID 1 is `process_api`, no systemd):
// - `/sys/fs/cgroup` is a tmpfs: HYBRID. v1 hierarchies are mounted one controller each at
//   /sys/fs/cgroup/{cpu,cpuacct,cpuset,memory,devices,freezer,blkio,pids} (cpu and cpuacct are
//   NOT co-mounted) plus a controller-less `name=systemd` one; net_cls, net_prio and perf_event
//   are enabled but unmounted.
// - cgroup2 is mounted at /sys/fs/cgroup/unified; its only controller is `hugetlb`, but
//   `cgroup.kill` and `cgroup.freeze` work there (ENVIRONMENT.md).
// - /proc/self/cgroup: every hierarchy at `/` except memory, which is nested
//   (`4:memory:/process_api/<32 hex>`): job cgroups must be created under that directory.
// A normal modern host is pure v2 (`cgroup2fs` at /sys/fs/cgroup, a single `0::/path` line).
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** cgroup v1 controllers the kernel knows (anything else in mount options is not one). */
const V1_CONTROLLERS = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
]);

/** One line of /proc/self/mountinfo (the fields we use). */
export interface MountInfo {
  /** Path of the mount's root inside its filesystem (field 4). */
  root: string;
  mountPoint: string;
  fsType: string;
  /** What is mounted (field after the type): a device such as `/dev/loop3`, or `none`. */
  source: string;
  /** Per-superblock options, e.g. `rw,memory` for a v1 memory hierarchy. */
  superOptions: string[];
}

/** One line of /proc/self/cgroup: `id:controllers:path`. */
export interface ProcCgroup {
  id: number;
  /** v1 controllers (and `name=...`) of the hierarchy; empty for the v2 line (`0::`). */
  controllers: string[];
  path: string;
}

/** Our place in the unified (v2) hierarchy. */
export interface CgroupV2Info {
  mountPoint: string;
  /** Our cgroup's path in the hierarchy, e.g. `/` or `/system.slice/agent.service`. */
  ownPath: string;
  /** Absolute directory of our cgroup (`mountPoint` + `ownPath`). */
  ownDir: string;
  /** Controllers available to our cgroup (its `cgroup.controllers`). */
  controllers: string[];
}

/** Our place in one v1 hierarchy. */
export interface CgroupV1Info {
  mountPoint: string;
  /** Controllers co-mounted in this hierarchy (e.g. `['cpu', 'cpuacct']`). */
  controllers: string[];
  ownPath: string;
  ownDir: string;
}

/** The cgroup layout of this host as seen by this process. */
export interface CgroupLayout {
  version: 'v2' | 'v1' | 'hybrid';
  /** Usually `/sys/fs/cgroup`. */
  root: string;
  /** The cgroup2 hierarchy, if mounted (at `root` on v2 hosts, often `root/unified` on hybrid). */
  unified?: CgroupV2Info;
  /** v1 hierarchies by controller name (a co-mounted hierarchy appears under each of its names). */
  v1: Record<string, CgroupV1Info>;
  /** Every usable controller, v2 and v1, sorted. */
  controllers: string[];
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/<pid>/mountinfo. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 5 || right.length < 3) continue;
    out.push({
      root: unescape(left[3]!),
      mountPoint: unescape(left[4]!),
      fsType: right[0]!,
      source: unescape(right[1]!),
      superOptions: right[2]!.split(','),
    });
  }
  return out;
}

/** Parses /proc/<pid>/cgroup. */
export function parseProcCgroup(text: string): ProcCgroup[] {
  const out: ProcCgroup[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    out.push({ id: Number(m[1]), controllers: m[2] ? m[2].split(',') : [], path: m[3]! });
  }
  return out;
}

/** Directory of `path` (from /proc/self/cgroup) in a hierarchy mounted at `m`. */
function ownDir(m: MountInfo, path: string): string {
  // A mount of a sub-tree (containers) has root ≠ '/': paths below it are relative to it.
  const rel =
    m.root !== '/' && (path === m.root || path.startsWith(`${m.root}/`))
      ? path.slice(m.root.length)
      : path;
  return posix.resolve(m.mountPoint, `.${rel}`);
}

/** Inputs of {@link layoutFrom}, as read from /proc. */
export interface CgroupSources {
  mountinfo: string;
  procCgroup: string;
  /** Reads a file (for `cgroup.controllers`); undefined when unreadable. */
  readFile: (path: string) => Promise<string | undefined>;
}

/** Computes the layout from the raw /proc texts (separated from I/O for tests). */
export async function layoutFrom(src: CgroupSources): Promise<CgroupLayout> {
  const mounts = parseMountInfo(src.mountinfo);
  const own = parseProcCgroup(src.procCgroup);
  const v1: Record<string, CgroupV1Info> = {};
  for (const m of mounts.filter((x) => x.fsType === 'cgroup')) {
    const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o));
    if (controllers.length === 0) continue; // e.g. name=systemd: no resources to limit
    const mine = own.find((c) => controllers.every((k) => c.controllers.includes(k)));
    const ownPath = mine?.path ?? '/';
    const info = { mountPoint: m.mountPoint, controllers, ownPath, ownDir: ownDir(m, ownPath) };
    for (const k of controllers) v1[k] ??= info;
  }
  let unified: CgroupV2Info | undefined;
  const m2 = mounts.find((x) => x.fsType === 'cgroup2');
  if (m2) {
    const ownPath = own.find((c) => c.id === 0 && c.controllers.length === 0)?.path ?? '/';
    const dir = ownDir(m2, ownPath);
    const text = (await src.readFile(join(dir, 'cgroup.controllers'))) ?? '';
    unified = {
      mountPoint: m2.mountPoint,
      ownPath,
      ownDir: dir,
      controllers: text.split(/\s+/).filter(Boolean),
    };
  }
  const v1Names = Object.keys(v1);
  const version = v1Names.length === 0 ? (unified ? 'v2' : 'v1') : unified ? 'hybrid' : 'v1';
  const root =
    unified && version === 'v2'
      ? unified.mountPoint
      : posix.dirname(
          Object.values(v1)[0]?.mountPoint ?? unified?.mountPoint ?? '/sys/fs/cgroup/x',
        );
  const controllers = [...new Set([...(unified?.controllers ?? []), ...v1Names])].sort();
  return { version, root, ...(unified ? { unified } : {}), v1, controllers };
}

/** Detects the cgroup layout from /proc/self/mountinfo, /proc/self/cgroup and cgroup.controllers. */
export async function detectCgroupLayout(): Promise<CgroupLayout> {
  return layoutFrom({
    mountinfo: await readFile('/proc/self/mountinfo', 'utf8'),
    procCgroup: await readFile('/proc/self/cgroup', 'utf8'),
    readFile: (p) => readFile(p, 'utf8').catch(() => undefined),
  });
}
