/**
 * The sandbox of a command in an installed runtime, described for @joblet/sandbox's launcher
 * (jobs and runtime tests start it there): an empty root where each
 * `runtime.yml` mount of `isolated/<dir>` is bound read-only at its target, the merged-/usr
 * symlinks (bin → usr/bin, ...) recreated, a fresh /proc (own PID namespace), a minimal /dev, a
 * tmpfs /tmp, a writable /work (a per-job host dir), and then the root itself remounted
 * read-only — so writing anywhere but /work and /tmp fails with EROFS. New PID, IPC, UTS, cgroup
 * and (unless `host` is asked) network namespaces — with `egress`, connected to the outside by
 * slirp4netns but not to the node's loopback (@joblet/sandbox egress.ts, /etc/resolv.conf naming
 * its DNS forwarder); uid/gid 65534 in a user namespace, every capability
 * dropped, the farm's seccomp filter, a new session, a cleared environment (runtime.yml's, then
 * the caller's), and the sandbox dies with its parent. A bind that cannot be made fails the run
 * (bwrap exits 1); it is never a warning.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  NOBODY,
  type BindMount,
  type BridgeAttachment,
  type SandboxNetwork,
  type SandboxSpec,
} from '@joblet/sandbox';
import type { RuntimeYml } from '@joblet/spec';
import { AgentError, AgentErrorCode } from '../errors.js';

/** Where a command runs: the runtime, its work dir, and what the caller adds. */
export interface RuntimeRunRequest {
  /** `RUNTIMES_DIR/<name>/<version>` of an installed runtime (hold a lease while it runs). */
  runtimeDir: string;
  runtimeYml: RuntimeYml;
  /** Host directory bound writable at /work (owned by the sandbox uid). */
  workDir: string;
  /** Set after runtime.yml's environment (wins over it). */
  env?: Record<string, string>;
  /**
   * `none` (default): only loopback. `egress`: the outside world through slirp4netns, not the
   * host's loopback. `bridge`: a veth into a bridge network (`bridge` says where). `host`: the
   * host's network.
   */
  network?: SandboxNetwork;
  bridge?: BridgeAttachment;
  hostname?: string;
  /** More binds (volumes), after the runtime's. */
  binds?: BindMount[];
  /** Size of the /tmp tmpfs (bytes); default the kernel's. */
  tmpBytes?: number;
}

/** Top-level entries of a merged-/usr tree that are symlinks into usr/. */
const MERGED_USR_LINKS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** A mount of runtime.yml, resolved on disk. */
export type ResolvedMount =
  | { kind: 'bind'; source: string; target: string }
  | { kind: 'symlink'; target: string; path: string };

function invalid(message: string): AgentError {
  return new AgentError(message, AgentErrorCode.InvalidRuntime);
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(`${root}/`);
}

/**
 * runtime.yml's mounts as binds of real paths inside `isolated/` — or, for a source that is a
 * symlink (merged /usr: isolated/bin → usr/bin), that symlink recreated in the sandbox, where it
 * resolves the way it did in the tree. A path leading out of `isolated/` is refused.
 */
export async function resolveMounts(runtimeDir: string, yml: RuntimeYml): Promise<ResolvedMount[]> {
  const isolated = join(runtimeDir, 'isolated');
  const root = await realpath(isolated).catch(() => {
    throw invalid(`${isolated} is missing`);
  });
  const out: ResolvedMount[] = [];
  const targets = new Set<string>();
  for (const m of yml.mounts) {
    const source = join(runtimeDir, m.source);
    const st = await lstat(source).catch(() => {
      throw invalid(`mount source ${m.source} of runtime.yml is missing`);
    });
    targets.add(m.target);
    if (st.isSymbolicLink()) {
      if (!inside(root, await realpath(dirname(source)))) {
        throw invalid(`mount source ${m.source} leads out of isolated/`);
      }
      out.push({ kind: 'symlink', path: m.target, target: await readlink(source) });
      continue;
    }
    const real = await realpath(source);
    if (!inside(root, real)) throw invalid(`mount source ${m.source} leads out of isolated/`);
    out.push({ kind: 'bind', source: real, target: m.target });
  }
  for (const name of MERGED_USR_LINKS) {
    if (targets.has(`/${name}`)) continue;
    const st = await lstat(join(isolated, name)).catch(() => undefined);
    if (!st?.isSymbolicLink()) continue;
    const target = await readlink(join(isolated, name));
    // Only relative links into the tree (usr/bin); anything else is not the merged-/usr layout.
    if (!target.startsWith('/') && !target.split('/').includes('..')) {
      out.push({ kind: 'symlink', path: `/${name}`, target });
    }
  }
  return out;
}

/** The bubblewrap spec of a run (pure; see the module comment for what it sets up). */
export function runtimeSandboxSpec(req: RuntimeRunRequest, mounts: ResolvedMount[]): SandboxSpec {
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: '/work',
    ...req.runtimeYml.environment,
    ...req.env,
  };
  return {
    proc: true,
    dev: true,
    tmpfs: [{ target: '/tmp', mode: 0o1777, ...(req.tmpBytes && { sizeBytes: req.tmpBytes }) }],
    binds: [
      ...mounts.flatMap((m) =>
        m.kind === 'bind' ? [{ source: m.source, target: m.target, readonly: true }] : [],
      ),
      { source: req.workDir, target: '/work', readonly: false },
      ...(req.binds ?? []),
    ],
    symlinks: mounts.flatMap((m) =>
      m.kind === 'symlink' ? [{ path: m.path, target: m.target }] : [],
    ),
    network: req.network ?? 'none',
    ...(req.bridge && { bridge: req.bridge }),
    readonlyRoot: true,
    uid: NOBODY,
    gid: NOBODY,
    ...(req.hostname !== undefined && { hostname: req.hostname }),
    chdir: '/work',
    env,
    dieWithParent: true,
    newSession: true,
    disableNestedUserns: true,
  };
}
