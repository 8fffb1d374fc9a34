// The sandbox of a job, behind an interface (tests and other hosts can swap it). The bwrap
// implementation describes the runtime's sandbox (runtime-sandbox.ts: runtime.yml mounts
// read-only at their targets, the root remounted read-only, /work writable, tmpfs /tmp, own
// /proc, minimal /dev, new namespaces, uid 65534, no capabilities) plus what a job adds — its
// volumes, its hostname, its network — and hands it to @joblet/sandbox's one launcher, which
// joins the job's cgroup before bwrap starts, connects `egress` jobs before their command runs,
// and gives stdout/stderr as streams the runner can pause (backpressure).
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  SandboxError,
  SandboxErrorCode,
  directResolvConf,
  egressResolvConf,
  launchSandbox,
  type BindMount,
  type BridgeAttachment,
  type SandboxNetwork,
  type Cgroup,
  type RootOverlay,
  type SandboxSpec,
} from '@joblet/sandbox';
import { networkKind, type EgressAllow, type JobNetwork, type RuntimeYml } from '@joblet/spec';
import { loadRuntimeYml } from '../runtimes/runtime-files.js';
import { JobFailure } from './job-errors.js';
import { resolveMounts, runtimeSandboxSpec, type ResolvedMount } from './runtime-sandbox.js';
import { systemRootSandboxSpec } from './system-root-sandbox.js';

export interface JobSandboxRequest {
  /** `RUNTIMES_DIR/<name>/<version>` (the caller holds a lease on it). */
  runtimeDir: string;
  runtimeYml: RuntimeYml;
  /** Host directory bound writable at /work, owned by the sandbox uid. */
  workDir: string;
  command: string;
  args: readonly string[];
  /** The job's environment, set after runtime.yml's. */
  env: Record<string, string>;
  network: JobNetwork;
  /** For `bridge` and custom networks: the job's place in it (job-networks.ts). */
  bridge?: BridgeAttachment;
  /** For `bridge` and custom networks: the network's hosts file, bound at /etc/hosts. */
  hostsFile?: string;
  hostname: string;
  /** Volumes (writable) and anything else bound after the runtime. */
  binds: BindMount[];
  /** Size of the /tmp tmpfs in bytes; default the kernel's. */
  tmpBytes?: number;
  /** Joined before bwrap starts, so nothing of the job ever runs outside it. */
  cgroup?: Pick<Cgroup, 'wrap' | 'kill'>;
  /**
   * A system root (system-root-sandbox.ts): the runtime's tree as a writable, throw-away `/`
   * instead of runtime.yml's read-only mounts.
   */
  rootOverlay?: RootOverlay;
}

export interface JobExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The sandbox could not be started at all (bwrap or setpriv missing, ...). */
  error?: Error;
}

/** A job's sandbox, started. */
export interface JobProcess {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /**
   * Settles once the process has exited (output may still be draining) and, for `egress`, its
   * slirp4netns is gone. Never rejects.
   */
  readonly exited: Promise<JobExit>;
  /**
   * SIGKILLs the sandbox's process group: bwrap dies, and with it (--die-with-parent, PID
   * namespace) everything inside. The cgroup's kill is the primary way; this is the fallback.
   */
  kill(): void;
}

export interface JobSandbox {
  start(req: JobSandboxRequest): Promise<JobProcess>;
}

/** runtime.yml and its resolved mounts per runtime dir, reused while runtime.yml is unchanged. */
export class RuntimeMounts {
  private readonly cache = new Map<
    string,
    { stamp: string; yml: RuntimeYml; mounts: ResolvedMount[] }
  >();

  async get(runtimeDir: string): Promise<{ yml: RuntimeYml; mounts: ResolvedMount[] }> {
    // A reinstall renames a new tree into place: a new inode, so a new stamp.
    const st = await lstat(join(runtimeDir, 'runtime.yml'));
    const stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    const hit = this.cache.get(runtimeDir);
    if (hit?.stamp === stamp) return hit;
    const yml = await loadRuntimeYml(runtimeDir);
    const mounts = await resolveMounts(runtimeDir, yml);
    const entry = { stamp, yml, mounts };
    this.cache.set(runtimeDir, entry);
    if (this.cache.size > 256) this.cache.delete(this.cache.keys().next().value!);
    return entry;
  }
}

export interface BwrapJobSandboxOptions {
  bwrapPath?: string;
  /** For `egress` jobs; default `slirp4netns` from PATH. */
  slirpPath?: string;
  /**
   * Nameservers of `isolated` and bridge-network jobs (AGENT_EGRESS_DNS); default slirp4netns's
   * forwarder (isolated), the host's own non-loopback nameservers (bridge networks).
   */
  egressDns?: string[];
  /** The operator's exceptions to the egress policy (AGENT_EGRESS_ALLOW). */
  egressAllow?: readonly EgressAllow[];
  mounts?: RuntimeMounts;
}

/** How egress jobs reach out (AGENT_EGRESS_DNS, AGENT_EGRESS_ALLOW). */
export type JobEgress = Pick<BwrapJobSandboxOptions, 'egressDns' | 'egressAllow'>;

/** How each kind of job network is built (networks.ts in @joblet/spec). */
const SANDBOX_NETWORK = {
  none: 'none',
  isolated: 'egress',
  host: 'host',
  bridge: 'bridge',
} as const satisfies Record<ReturnType<typeof networkKind>, SandboxNetwork>;

/** {@link JobSandbox} on the one launcher of @joblet/sandbox. */
export class BwrapJobSandbox implements JobSandbox {
  readonly mounts: RuntimeMounts;

  constructor(private readonly o: BwrapJobSandboxOptions = {}) {
    this.mounts = o.mounts ?? new RuntimeMounts();
  }

  /** The sandbox that runs `req`, as the launcher takes it. */
  async spec(req: JobSandboxRequest): Promise<SandboxSpec> {
    const run = {
      runtimeDir: req.runtimeDir,
      runtimeYml: req.runtimeYml,
      workDir: req.workDir,
      env: req.env,
      network: SANDBOX_NETWORK[networkKind(req.network)],
      ...(req.bridge && { bridge: req.bridge }),
      hostname: req.hostname,
      binds: req.hostsFile
        ? [...req.binds, { source: req.hostsFile, target: '/etc/hosts', readonly: true }]
        : req.binds,
      ...(req.tmpBytes !== undefined && { tmpBytes: req.tmpBytes }),
    };
    if (req.rootOverlay) return systemRootSandboxSpec(run, req.rootOverlay);
    const { mounts } = await this.mounts.get(req.runtimeDir);
    return runtimeSandboxSpec(run, mounts);
  }

  /**
   * Starts the job's sandbox; for `egress` it returns once the network is up.
   * @throws JobFailure (start-failed) when the egress network cannot be set up on this node.
   */
  async start(req: JobSandboxRequest): Promise<JobProcess> {
    const proc = launchSandbox(await this.spec(req), req.command, req.args, {
      stdio: 'pipe',
      ...(this.o.bwrapPath !== undefined && { bwrapPath: this.o.bwrapPath }),
      ...(req.cgroup && { cgroup: req.cgroup }),
      egress: {
        label: req.hostname,
        ...(this.o.slirpPath !== undefined && { slirpPath: this.o.slirpPath }),
        ...(req.bridge
          ? { resolvConf: directResolvConf(this.o.egressDns) }
          : this.o.egressDns && {
              resolvConf: egressResolvConf(undefined, undefined, this.o.egressDns),
            }),
        ...(this.o.egressAllow && { allow: this.o.egressAllow }),
      },
    });
    const exited = proc.result.then(
      (r): JobExit => ({ code: r.code, signal: r.signal }),
      (error: Error): JobExit => ({ code: null, signal: null, error }),
    );
    try {
      await proc.ready;
    } catch {
      const e = await exited;
      if (e.error instanceof SandboxError && e.error.code === SandboxErrorCode.NetworkFailed) {
        throw new JobFailure(
          `network ${req.network} could not be set up on this node: ${e.error.message}`,
          'start-failed',
          'FAILED',
          { cause: e.error },
        );
      }
      // bwrap that failed on its own took the namespace with it: its exit says why.
    }
    // stdio 'pipe': both streams exist.
    return {
      pid: proc.pid,
      stdout: proc.stdout!,
      stderr: proc.stderr!,
      exited,
      kill: () => void proc.stop(),
    };
  }
}
