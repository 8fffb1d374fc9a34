/**
 * Step 2: the build's sandbox: its cgroup (every sandboxed process runs inside it), the cache
 * overlays bound into it, and a first root: a preparation overlay on the base root where the
 * package lists are fetched and, when missing, the language layer is installed. `mountBuildRoot`
 * then replaces it with the build's own root (layer and base read-only, a fresh upper on top).
 */
import type { Cgroup, CgroupManager } from '@joblet/sandbox';
import { writeAptSources } from './apt.step.js';
import {
  CACHE_TARGETS,
  SharedCaches,
  mountCache,
  type CacheMount,
  type CacheName,
} from './caches.js';
import type { BuildContext } from './context.js';
import { mountOverlay } from './mounts.js';
import { BuildSandbox } from './sandbox.js';

/** Namespace (directory under our own cgroup) holding every build's cgroup. */
export const BUILD_CGROUP_NAMESPACE = 'joblet-builds';

/** cgroup name of one arch's build: `build-<buildId>-<arch>` (lowercase, as cgroupfs names go). */
export function buildCgroupName(buildId: string, arch: string): string {
  return `build-${buildId}-${arch}`.toLowerCase();
}

export interface PreparedSandbox {
  cgroup: Cgroup;
  caches: SharedCaches;
  cacheMounts: Record<CacheName, CacheMount>;
  sourcesHash: string;
  /** Runs with the caches bound (install steps). */
  sandbox: BuildSandbox;
  /** Runs without them (pruning, inspection): what it sees is exactly the runtime. */
  bare: BuildSandbox;
}

/**
 * Sets everything up; on a failure part-way the caller's cleanup (cgroup destroy, unmount,
 * work dir removal) removes whatever was made. `onCgroup` hands the cgroup over as soon as it
 * exists, for that cleanup.
 */
export async function prepareSandbox(
  ctx: BuildContext,
  cgroups: CgroupManager,
  baseRoot: string,
  onCgroup: (cg: Cgroup) => void,
): Promise<PreparedSandbox> {
  const { config, wd, entry } = ctx;
  const cgroup = await cgroups.create(buildCgroupName(ctx.job.buildId, config.arch), {
    memoryBytes: config.memoryBytes,
    cpuPercent: config.cpuPercent,
    pidsMax: config.pidsMax,
  });
  onCgroup(cgroup);
  await mountOverlay({
    lowers: [baseRoot],
    upper: wd.prepUpper,
    work: wd.prepWork,
    target: wd.merged,
  });
  const sourcesHash = await writeAptSources(ctx, wd.merged);

  const caches = new SharedCaches(config.cacheDir, entry.suite, config.arch, config.buildSubids);
  await caches.ensure();
  const cacheMounts = {} as Record<CacheName, CacheMount>;
  for (const name of Object.keys(CACHE_TARGETS) as CacheName[]) {
    cacheMounts[name] = await mountCache(caches, name, wd.caches, config.buildSubids);
  }
  const binds = Object.values(cacheMounts).map((m) => ({
    source: m.merged,
    target: CACHE_TARGETS[m.name],
    readonly: false,
  }));
  const onLine = (line: string, stream: 'stdout' | 'stderr') => ctx.report.output(line, stream);
  const net = {
    subids: config.buildSubids,
    network: config.buildNetwork,
    label: cgroup.name,
    ...(config.buildDns ? { dns: config.buildDns } : {}),
    egressAllow: config.buildEgressAllow,
  };
  return {
    cgroup,
    caches,
    cacheMounts,
    sourcesHash,
    sandbox: new BuildSandbox(
      { root: wd.merged, binds, caBundle: config.caBundle, ...net },
      cgroup,
      ctx.signal,
      onLine,
    ),
    bare: new BuildSandbox({ root: wd.merged, binds: [], ...net }, cgroup, ctx.signal, onLine),
  };
}

/**
 * Mounts the build's own root where the (unmounted) preparation root was: `lowers` (top first:
 * the language layer, if any, then the base root) read-only under the build's upper layer.
 * Sandboxes keep working: they bind the mount point by path at each run.
 */
export async function mountBuildRoot(ctx: BuildContext, lowers: string[]): Promise<void> {
  const { wd } = ctx;
  await mountOverlay({ lowers, upper: wd.upper, work: wd.ovlwork, target: wd.merged });
  await writeAptSources(ctx, wd.merged);
}
