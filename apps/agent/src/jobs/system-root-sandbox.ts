/**
 * The sandbox of a job in a system root (a runtime whose base is a plain Debian root, the farm's
 * default runtime), described for @joblet/sandbox's launcher: the whole tree as `/`, writable and
 * thrown away with the job (an overlay whose upper layer lives in the job's directory), so
 * `apt-get install` works and nothing a job writes reaches the next one. It runs as root of a
 * user namespace that maps one id — uid 65534 to the host, as every other job — with the seven
 * capabilities package managers need, inside that namespace only, the farm's seccomp filter (no mounts, no
 * nested namespaces), and otherwise what every job gets: its own PID/IPC/UTS/network
 * namespaces, fresh /proc, minimal /dev, tmpfs /tmp, /work holding its uploads, its volumes.
 */
import { PACKAGE_CAPABILITIES, NOBODY, type RootOverlay, type SandboxSpec } from '@joblet/sandbox';
import type { RuntimeRunRequest } from './runtime-sandbox.js';

/** The bubblewrap spec of a system-root run (pure). */
export function systemRootSandboxSpec(req: RuntimeRunRequest, root: RootOverlay): SandboxSpec {
  return {
    rootOverlay: root,
    usernsRoot: { hostUid: NOBODY, hostGid: NOBODY },
    capabilities: [...PACKAGE_CAPABILITIES],
    proc: true,
    dev: true,
    tmpfs: [{ target: '/tmp', mode: 0o1777, ...(req.tmpBytes && { sizeBytes: req.tmpBytes }) }],
    binds: [{ source: req.workDir, target: '/work', readonly: false }, ...(req.binds ?? [])],
    network: req.network ?? 'none',
    ...(req.bridge && { bridge: req.bridge }),
    ...(req.hostname !== undefined && { hostname: req.hostname }),
    chdir: '/work',
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      ...req.runtimeYml.environment,
      ...req.env,
    },
    dieWithParent: true,
    newSession: true,
    disableNestedUserns: true,
  };
}
