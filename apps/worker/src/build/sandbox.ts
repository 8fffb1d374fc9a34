/**
 * The build sandbox: bubblewrap on the build's overlay root, run inside the build's cgroup.
 *
 * - `/` is the read-write overlay (base root below, the build's upper layer on top), bound with
 *   `--bind` after the child mounted it in its private mount namespace (bwrap 0.8 has no
 *   `--overlay`; that arrived in 0.9).
 * - Own PID, IPC, UTS and cgroup namespaces; hostname `build`; /proc of its own PID namespace, a
 *   minimal /dev, a fresh /tmp; dies with the child (`--die-with-parent`); `setsid`.
 * - Rootless: root inside (apt and dpkg need it) is root of a user namespace whose 65536 ids are
 *   the host range WORKER_BUILD_SUBID_BASE… (@joblet/sandbox userns.ts), i.e. host uid 100000 by
 *   default: it owns the build's root (a shifted copy of the base root, base-root/shifted.ts,
 *   under its own upper layer) and nothing of the host's. It keeps only what package
 *   installation needs ({@link BUILD_CAPABILITIES}), over its namespace only: no SYS_ADMIN (no
 *   mounts), no NET_ADMIN/NET_RAW, no MKNOD, SYS_CHROOT, SETFCAP... It cannot create nested
 *   user namespaces (seccomp and user.max_user_namespaces=0); bwrap sets no_new_privs.
 * - Network (`WORKER_BUILD_NETWORK`): `isolated` (default) gives each command its own network
 *   namespace connected to the outside by slirp4netns without the host's loopback
 *   (@joblet/sandbox egress.ts): mirrors and registries are reachable, the farm's Redis and
 *   API on 127.0.0.1 are not; /etc/resolv.conf names slirp's DNS forwarder. `host` shares the
 *   host's namespace and binds its resolv.conf (unsafe: hooks reach every local service).
 * - The environment is exactly what the caller passes: nothing of the worker's (Redis URL,
 *   store credentials) reaches it.
 */
import { existsSync } from 'node:fs';
import type {
  BindMount,
  Cgroup,
  IdRange,
  OutputStreamName,
  RunResult,
  SandboxSpec,
} from '@joblet/sandbox';
import {
  PACKAGE_CAPABILITIES,
  SandboxError,
  SandboxErrorCode,
  egressResolvConf,
  launchSandbox,
} from '@joblet/sandbox';
import type { EgressAllow } from '@joblet/spec';
import { BuildFailure } from './build-failure.js';

/**
 * What apt, dpkg, pip and npm need as root, valid in the build's user namespace only: owners and
 * modes of its own files (CHOWN, DAC_OVERRIDE, FOWNER, FSETID), apt dropping to `_apt` and
 * maintainer scripts running as other users (SETUID, SETGID), root stopping their processes
 * (KILL). Less than Docker's default set: no MKNOD, SYS_CHROOT, SETFCAP (file capabilities never
 * reach a runtime), SETPCAP, NET_BIND_SERVICE or AUDIT_WRITE.
 */
export const BUILD_CAPABILITIES = PACKAGE_CAPABILITIES;

/** PATH inside the sandbox (Debian root's default). */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Environment every sandboxed command gets. */
export function baseSandboxEnv(): Record<string, string> {
  return {
    PATH: SANDBOX_PATH,
    HOME: '/root',
    LANG: 'C.UTF-8',
    DEBIAN_FRONTEND: 'noninteractive',
  };
}

/** A cache or other host directory bound into the build root. */
export interface SandboxBind {
  source: string;
  target: string;
  readonly: boolean;
}

/** `WORKER_BUILD_NETWORK`: egress only through slirp4netns, or the host's network (unsafe). */
export type BuildNetwork = 'isolated' | 'host';

export interface SandboxLayout {
  /** Host path of the mounted overlay root (owned by the range's root, `subids.first`). */
  root: string;
  /** The host ids the sandbox runs as (WORKER_BUILD_SUBID_BASE): root inside is `first`. */
  subids: IdRange;
  /** Default `isolated`. */
  network?: BuildNetwork;
  /** Names the slirp4netns of an isolated sandbox (leak checks, `ps e`): the build's cgroup. */
  label?: string;
  /** Nameservers of an isolated sandbox (WORKER_BUILD_DNS); default slirp4netns's forwarder. */
  dns?: string[];
  /** Exceptions to the egress policy of an isolated sandbox (package mirrors, the operator's). */
  egressAllow?: readonly EgressAllow[];
  /** Extra binds (the caches). */
  binds: SandboxBind[];
  /** Host CA bundle made available at {@link SANDBOX_CA_PATH} (BUILD_CA_BUNDLE). */
  caBundle?: string;
}

/**
 * Where the build CA bundle appears: on the sandbox's /tmp tmpfs, so its mount point never
 * lands in the runtime's tree.
 */
export const SANDBOX_CA_PATH = '/tmp/joblet-build-ca.pem';

/** Variables that make pip, npm/node, Python's ssl, OpenSSL and curl trust the CA bundle. */
export function caEnv(layout: Pick<SandboxLayout, 'caBundle'>): Record<string, string> {
  if (!layout.caBundle) return {};
  return {
    NODE_EXTRA_CA_CERTS: SANDBOX_CA_PATH,
    PIP_CERT: SANDBOX_CA_PATH,
    REQUESTS_CA_BUNDLE: SANDBOX_CA_PATH,
    SSL_CERT_FILE: SANDBOX_CA_PATH,
    CURL_CA_BUNDLE: SANDBOX_CA_PATH,
  };
}

function isolated(layout: Pick<SandboxLayout, 'network'>): boolean {
  return (layout.network ?? 'isolated') === 'isolated';
}

/** The sandbox of one build command, as the launcher takes it (see the module comment). */
export function buildSandboxSpec(
  layout: SandboxLayout,
  env: Record<string, string>,
  chdir = '/root',
): SandboxSpec {
  const binds: BindMount[] = [];
  if (!isolated(layout) && existsSync('/etc/resolv.conf')) {
    binds.push({ source: '/etc/resolv.conf', target: '/etc/resolv.conf' });
  }
  if (layout.caBundle) binds.push({ source: layout.caBundle, target: SANDBOX_CA_PATH });
  for (const b of layout.binds) binds.push({ ...b });
  return {
    rootfs: layout.root,
    rootfsWritable: true,
    network: isolated(layout) ? 'egress' : 'host',
    hostname: 'build',
    tmpfs: ['/tmp'],
    binds,
    chdir,
    env,
    subids: layout.subids,
    uid: 0,
    gid: 0,
    capabilities: [...BUILD_CAPABILITIES],
  };
}

export interface SandboxRunOptions {
  /** Added to {@link baseSandboxEnv}. */
  env?: Record<string, string>;
  /** Kill the command (and everything in the build's cgroup) after this long (ms). */
  timeoutMs?: number;
  chdir?: string;
  /** Stream output lines to the log as they arrive. Default true. */
  stream?: boolean;
  /** Binds for this command only (e.g. a verified toolchain archive, read-only). */
  binds?: SandboxBind[];
}

/** Runs commands in the build sandbox, each inside the build's cgroup. */
export class BuildSandbox {
  constructor(
    private readonly layout: SandboxLayout,
    private readonly cgroup: Cgroup,
    private readonly signal: AbortSignal,
    private readonly onLine: (line: string, stream: OutputStreamName) => void,
  ) {}

  /**
   * Runs `argv` (never a shell string built from spec data) and returns how it ended. On a
   * timeout or abort every process of the build's cgroup is killed before this returns.
   */
  async run(argv: readonly string[], opts: SandboxRunOptions = {}): Promise<RunResult> {
    const env = { ...baseSandboxEnv(), ...caEnv(this.layout), ...opts.env };
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error('an empty command cannot run in the build sandbox');
    const { label, dns, egressAllow } = this.layout;
    const layout = opts.binds
      ? { ...this.layout, binds: [...this.layout.binds, ...opts.binds] }
      : this.layout;
    const proc = launchSandbox(buildSandboxSpec(layout, env, opts.chdir), cmd, args, {
      cgroup: this.cgroup,
      signal: this.signal,
      ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
      maxBufferBytes: 256 * 1024,
      killGraceMs: 2000,
      ...((opts.stream ?? true) && { onLine: this.onLine }),
      egress: {
        ...(label !== undefined && { label }),
        ...(dns && { resolvConf: egressResolvConf(undefined, undefined, dns) }),
        ...(egressAllow && { allow: egressAllow }),
      },
    });
    return proc.result.catch((err: unknown) => {
      if (err instanceof SandboxError && err.code === SandboxErrorCode.NetworkFailed) {
        throw new BuildFailure(
          'INTERNAL',
          `the build sandbox's network could not be set up (WORKER_BUILD_NETWORK=isolated): ${err.message}`,
          { retryable: true, cause: err },
        );
      }
      throw err;
    });
  }
}
