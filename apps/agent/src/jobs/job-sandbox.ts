// The sandbox of a job, behind an interface (tests and other hosts can swap it). The bwrap
// implementation reuses the runtime sandbox's definition (runtime-sandbox.ts: runtime.yml mounts
// read-only at their targets, the root remounted read-only — a failed remount fails the run —,
// /work writable, tmpfs /tmp, own /proc, minimal /dev, new namespaces, uid 65534, no
// capabilities, a new session, a cleared environment, dies with its parent) and adds what a job
// needs beyond a runtime test: its cgroup joined before bwrap starts, its volumes, its hostname,
// its stdout/stderr as streams the runner can pause (backpressure), not captured buffers, and
// for `egress` jobs the slirp4netns that connects it (started before the command runs, stopped
// once the sandbox has exited).
import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import {
  EGRESS_PIPES,
  NOBODY,
  SandboxError,
  SandboxErrorCode,
  connectEgress,
  egressResolvConf,
  type BindMount,
  type Cgroup,
  type EgressLink,
} from '@joblet/sandbox';
import type { JobNetwork, RuntimeYml } from '@joblet/spec';
import { loadRuntimeYml } from '../runtimes/runtime-files.js';
import { JobFailure } from './job-errors.js';
import {
  resolveMounts,
  runtimeSandboxArgv,
  runtimeSandboxSpec,
  type ResolvedMount,
} from './runtime-sandbox.js';

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
  hostname: string;
  /** Volumes (writable) and anything else bound after the runtime. */
  binds: BindMount[];
  /** Size of the /tmp tmpfs in bytes; default the kernel's. */
  tmpBytes?: number;
  /** Joined before bwrap starts, so nothing of the job ever runs outside it. */
  cgroup?: Pick<Cgroup, 'wrap'>;
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
  /** Nameservers of `egress` jobs (AGENT_EGRESS_DNS); default slirp4netns's forwarder. */
  egressDns?: string[];
  mounts?: RuntimeMounts;
}

/** {@link JobSandbox} on bubblewrap. */
export class BwrapJobSandbox implements JobSandbox {
  readonly mounts: RuntimeMounts;

  constructor(private readonly o: BwrapJobSandboxOptions = {}) {
    this.mounts = o.mounts ?? new RuntimeMounts();
  }

  /** The argv that runs `req` (without the cgroup and privilege wrappers). */
  async argv(req: JobSandboxRequest): Promise<string[]> {
    const { mounts } = await this.mounts.get(req.runtimeDir);
    const spec = runtimeSandboxSpec(
      {
        runtimeDir: req.runtimeDir,
        runtimeYml: req.runtimeYml,
        workDir: req.workDir,
        command: req.command,
        args: req.args,
        env: req.env,
        network: req.network,
        hostname: req.hostname,
        binds: req.binds,
        ...(req.tmpBytes !== undefined && { tmpBytes: req.tmpBytes }),
      },
      mounts,
    );
    return runtimeSandboxArgv(spec, req.command, req.args);
  }

  /**
   * Starts the job's sandbox; for `egress` it returns once the network is up.
   * @throws JobFailure (start-failed) when the egress network cannot be set up on this node.
   */
  async start(req: JobSandboxRequest): Promise<JobProcess> {
    const argv = await this.argv(req);
    let cmd = this.o.bwrapPath ?? 'bwrap';
    let args = argv;
    const root = process.getuid?.() === 0;
    let drop = root ? { uid: NOBODY, gid: NOBODY } : undefined;
    if (req.cgroup) {
      // Joining the cgroup writes root-owned files: the join runs as root, then setpriv drops
      // to the sandbox uid, so the host kernel never sees bwrap as root (as runtime-sandbox.ts).
      if (drop) {
        args = ['--reuid', `${NOBODY}`, '--regid', `${NOBODY}`, '--clear-groups', cmd, ...args];
        cmd = 'setpriv';
        drop = undefined;
      }
      ({ cmd, args } = req.cgroup.wrap(cmd, args));
    }
    const egress = req.network === 'egress';
    const child = spawn(cmd, args, {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      cwd: '/',
      // Its own process group, so kill() reaches bwrap and the wrappers at once.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(egress ? EGRESS_PIPES : 0).fill('pipe')],
      ...(drop ?? {}),
    });
    const processExited = new Promise<JobExit>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const pid = child.pid ?? -1;
    const kill = () => {
      if (pid <= 0) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // ESRCH: gone already.
      }
    };
    let link: EgressLink | undefined;
    if (egress) {
      const pipes = child.stdio.slice(3) as Duplex[];
      link = await this.connect(pipes, processExited, kill, req.hostname);
    }
    const exited = link
      ? processExited.then(async (e) => {
          await link.stop();
          return e;
        })
      : processExited;
    // stdio 1 and 2 are pipes: both streams exist (the spread stdio array hides it from tsc).
    return { pid, stdout: child.stdout!, stderr: child.stderr!, exited, kill };
  }

  /**
   * Brings up an egress sandbox's network (undefined: bwrap ended first; its exit tells why).
   * On a failure the sandbox, still waiting for the network, is killed before its command ran.
   */
  private async connect(
    pipes: Duplex[],
    exited: Promise<JobExit>,
    kill: () => void,
    label: string,
  ): Promise<EgressLink | undefined> {
    for (const p of pipes) p.on('error', () => undefined);
    try {
      return await connectEgress(pipes, exited, {
        label,
        ...(this.o.slirpPath !== undefined && { slirpPath: this.o.slirpPath }),
        ...(this.o.egressDns && {
          resolvConf: egressResolvConf(undefined, undefined, this.o.egressDns),
        }),
      });
    } catch (err) {
      kill();
      const e = await exited;
      // bwrap that failed on its own took the namespace with it: its exit says why.
      if (e.error || e.signal !== 'SIGKILL') return undefined;
      if (err instanceof SandboxError && err.code === SandboxErrorCode.NetworkFailed) {
        throw new JobFailure(
          `network egress could not be set up on this node: ${err.message}`,
          'start-failed',
          'FAILED',
          { cause: err },
        );
      }
      throw err;
    }
  }
}
