/**
 * The build sandbox: bubblewrap on the build's overlay root, run inside the build's cgroup.
 *
 * - `/` is the read-write overlay (base root below, the build's upper layer on top), bound with
 *   `--bind` after the child mounted it in its private mount namespace (bwrap 0.8 has no
 *   `--overlay`; that arrived in 0.9).
 * - Own PID, IPC, UTS and cgroup namespaces; hostname `build`; /proc of its own PID namespace, a
 *   minimal /dev, a fresh /tmp; dies with the child (`--die-with-parent`); `setsid`.
 * - Root inside (apt and dpkg need it), but only Docker's default capabilities: no SYS_ADMIN
 *   (no mounts), no NET_ADMIN/NET_RAW, no SYS_PTRACE/SYS_MODULE/SYS_TIME... bwrap also sets
 *   no_new_privs, so setuid binaries gain nothing.
 * - Network (`WORKER_BUILD_NETWORK`): `isolated` (default) gives each command its own network
 *   namespace connected to the outside by slirp4netns without the host's loopback
 *   (@joblet/sandbox egress.ts): mirrors and registries are reachable, the farm's Redis and
 *   API on 127.0.0.1 are not; /etc/resolv.conf names slirp's DNS forwarder. `host` shares the
 *   host's namespace and binds its resolv.conf (unsafe: hooks reach every local service).
 * - The environment is exactly what the caller passes: nothing of the worker's (Redis URL,
 *   store credentials) reaches it.
 */
import { existsSync } from 'node:fs';
import type { BindMount, Cgroup, OutputStreamName, RunResult, SandboxSpec } from '@joblet/sandbox';
import {
  DOCKER_DEFAULT_CAPABILITIES,
  SandboxError,
  SandboxErrorCode,
  egressResolvConf,
  launchSandbox,
} from '@joblet/sandbox';
import type { EgressAllow } from '@joblet/spec';
import { BuildFailure } from './build-failure.js';

/** Docker's default capability set: what package installation needs, nothing that escapes. */
export const BUILD_CAPABILITIES = DOCKER_DEFAULT_CAPABILITIES;

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
  /** Host path of the mounted overlay root. */
  root: string;
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
    const proc = launchSandbox(buildSandboxSpec(this.layout, env, opts.chdir), cmd, args, {
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
