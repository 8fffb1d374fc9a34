/**
 * The one launcher: the only place that starts bubblewrap. Callers (builds, runtime tests, jobs,
 * start-up probes) describe their sandbox ({@link SandboxSpec}) and how its process is supervised
 * ({@link LaunchOptions}); this file owns the security-critical sequence and its cleanup:
 *
 * 1. bwrap's arguments from the spec (bwrap.ts; invalid specs are refused before anything runs);
 * 2. privileges: as root, a sandbox whose uid is not 0 runs bwrap itself as that uid, so the host
 *    kernel never sees root holding a user namespace; a rootless one (`subids`) runs bwrap as
 *    root of a user namespace mapping an unprivileged host id range (userns.ts);
 * 3. the cgroup: joined before bwrap execs (root-owned `cgroup.procs`), then `setpriv` drops to
 *    the sandbox uid — nothing of the sandbox ever runs outside its cgroup;
 * 4. seccomp: the filter (seccomp.ts) goes to bwrap on its own pipe, loaded right before exec;
 * 5. egress: bwrap waits on its block fd until slirp4netns (or, for `bridge`, a veth into the
 *    network's bridge: bridge-attach.ts) has the sandbox's network up and the egress policy is
 *    set (egress.ts); the command never runs without the network it was promised;
 * 6. the end: on a timeout, an abort or {@link SandboxProcess.stop} the whole cgroup is killed,
 *    then the process group; slirp4netns is stopped; `result` settles only after all of it.
 */
import type { Readable } from 'node:stream';
import {
  NOBODY,
  bwrapArgs,
  connectedNetwork,
  overlayOptions,
  seccompFd,
  type SandboxSpec,
} from './bwrap.js';
import type { Cgroup } from './cgroup-types.js';
import { EGRESS_PIPES, connectEgress, type EgressLink, type EgressOptions } from './egress.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { spawnProcess, type OutputStreamName, type RunResult } from './exec.js';
import { seccompProgram } from './seccomp.js';
import { usernsCommand } from './userns.js';

/** How the sandboxed process is supervised (what it is, is the {@link SandboxSpec}). */
export interface LaunchOptions {
  /** Default `bwrap` from PATH. */
  bwrapPath?: string;
  /**
   * The cgroup the sandbox runs in (from `CgroupManager.create`, limits applied). Joined before
   * bwrap starts; killed as a whole on timeout, abort and stop. The caller destroys it.
   */
  cgroup?: Pick<Cgroup, 'wrap' | 'kill'>;
  /** Settings of an `egress` or `bridge` sandbox (label, resolv.conf, policy exceptions, timeout). */
  egress?: EgressOptions;
  /**
   * `capture` (default): stdout and stderr tails in the result, `onLine` per line as it comes.
   * `pipe`: `stdout`/`stderr` are streams the caller consumes (and may pause: backpressure).
   */
  stdio?: 'capture' | 'pipe';
  /** With `capture`: called for every complete output line as it arrives. */
  onLine?: (line: string, stream: OutputStreamName) => void;
  /** With `capture`: bytes kept per stream (the tail). Default 1 MiB. */
  maxBufferBytes?: number;
  /** Data written to the command's stdin, which is then closed. Default: /dev/null. */
  input?: string | Buffer;
  /** Kill the sandbox (and its cgroup) after this many milliseconds. */
  timeoutMs?: number;
  /** Kill the sandbox (and its cgroup) when this fires. */
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL of the process group on timeout/abort (ms). Default 2000. */
  killGraceMs?: number;
}

/** A started sandbox. */
export interface SandboxProcess {
  /** pid of the outermost process (the cgroup join wrapper, setpriv or bwrap). */
  readonly pid: number;
  /** With `stdio: 'pipe'`. */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * Resolves once the command has been released to run (at once without egress; once the
   * network is up with it). Rejects with `SANDBOX_NETWORK_FAILED` when the network could not be
   * set up: the sandbox was then killed before its command ran.
   */
  readonly ready: Promise<void>;
  /**
   * Settles once the sandbox has exited, its stdio closed, its cgroup killed when it was
   * stopped, timed out or aborted, and slirp4netns is gone. Rejects when bwrap could not be
   * started (`SPAWN_FAILED`) or its network could not be set up (`SANDBOX_NETWORK_FAILED`).
   */
  readonly result: Promise<RunResult>;
  /** Kills everything in the sandbox: the cgroup first (when there is one), then the group. */
  stop(): Promise<void>;
}

const WRAPPER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/**
 * Mounts the root overlay ($1: options, $2: mountpoint), then execs the rest. Runs as root in the
 * fresh mount namespace `unshare` made, so the mount exists there only. A fixed script: the
 * paths come as arguments, never spliced into it.
 */
const OVERLAY_SCRIPT = 'mount -t overlay -o "$1" joblet-root "$2" && shift 2 && exec "$@"';

/**
 * The command that starts bwrap with `argv`: inside the cgroup, in a mount namespace holding the
 * root overlay when there is one, dropped to the sandbox's host uid.
 */
function wrapped(
  spec: SandboxSpec,
  argv: string[],
  opts: LaunchOptions,
): { cmd: string; args: string[]; dropTo?: { uid: number; gid: number } } {
  const uid = spec.usernsRoot?.hostUid ?? spec.uid ?? NOBODY;
  const gid = spec.usernsRoot?.hostGid ?? spec.gid ?? uid;
  const bwrap = opts.bwrapPath ?? 'bwrap';
  const root = process.getuid?.() === 0;
  if (spec.subids && !root) {
    throw new SandboxError('a sandbox with subids needs root', SandboxErrorCode.InvalidSpec);
  }
  if (spec.rootOverlay && !root) {
    throw new SandboxError(
      'a root overlay needs the launcher to run as root',
      SandboxErrorCode.InvalidSpec,
    );
  }
  const drop = root && !spec.subids && (uid !== 0 || gid !== 0);
  if (!opts.cgroup && !spec.rootOverlay && !spec.subids) {
    return { cmd: bwrap, args: argv, ...(drop && { dropTo: { uid, gid } }) };
  }
  // Joining writes root-owned cgroup.procs files and mounting the overlay needs root, so both run
  // as root; then setpriv (util-linux) drops to the sandbox uid, as spawning with uid/gid would
  // have — or, rootless, unshare (and newuidmap) make the namespace whose root runs bwrap.
  let sandbox: string[];
  if (spec.subids) {
    const inner = usernsCommand(spec.subids, bwrap, argv);
    sandbox = [inner.cmd, ...inner.args];
  } else {
    const setpriv = ['setpriv', '--reuid', `${uid}`, '--regid', `${gid}`, '--clear-groups'];
    sandbox = [...(drop ? setpriv : []), bwrap, ...argv];
  }
  const o = spec.rootOverlay;
  const [cmd, ...args] = o
    ? [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        OVERLAY_SCRIPT,
        'sh',
      ].concat(overlayOptions(o), o.mountpoint, sandbox)
    : sandbox;
  return opts.cgroup ? opts.cgroup.wrap(cmd!, args) : { cmd: cmd!, args };
}

/**
 * Starts `cmd args` in the sandbox `spec` describes and returns at once (see the module comment
 * for the sequence). `cmd` is resolved inside the sandbox.
 * @throws SandboxError `SANDBOX_INVALID_SPEC` for a spec bwrap must not be given.
 */
export function launchSandbox(
  spec: SandboxSpec,
  cmd: string,
  args: readonly string[],
  opts: LaunchOptions = {},
): SandboxProcess {
  const argv = [...bwrapArgs(spec), '--', cmd, ...args];
  const command = wrapped(spec, argv, opts);
  const pipe = opts.stdio === 'pipe';
  const egress = connectedNetwork(spec.network);
  const seccomp = spec.seccomp ?? true;
  // Built before anything starts: a host without a filter for its ABI refuses to launch.
  const program = seccomp ? seccompProgram() : undefined;
  let stopped = false;
  const handle = spawnProcess(command.cmd, command.args, {
    // bwrap needs nothing from our environment; the sandbox gets exactly spec.env.
    env: WRAPPER_ENV,
    // '/' so an unprivileged bwrap can always resolve its working directory.
    cwd: '/',
    ...command.dropTo,
    stdout: pipe ? 'pipe' : 'capture',
    stderr: pipe ? 'pipe' : 'capture',
    ...(opts.onLine && { onLine: opts.onLine }),
    ...(opts.maxBufferBytes !== undefined && { maxBufferBytes: opts.maxBufferBytes }),
    ...(opts.input !== undefined && { input: opts.input }),
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
    ...(opts.signal && { signal: opts.signal }),
    ...(opts.killGraceMs !== undefined && { killGraceMs: opts.killGraceMs }),
    extraPipes: (egress ? EGRESS_PIPES : 0) + (seccomp ? 1 : 0),
  });
  if (program) handle.pipes[seccompFd(spec) - 3]?.end(program);
  const killCgroup = async (): Promise<void> => {
    await opts.cgroup?.kill().catch(() => undefined);
  };

  // The network: bwrap holds the command until slirp4netns is ready.
  let link: EgressLink | undefined;
  const network: Promise<'up' | 'ended'> = egress
    ? connectEgress(handle.pipes, handle.result, opts.egress, spec.bridge).then(
        (l) => {
          link = l;
          return l ? 'up' : 'ended';
        },
        async (err: unknown) => {
          handle.kill('SIGKILL');
          await killCgroup();
          throw err;
        },
      )
    : Promise.resolve('up');

  const result = (async (): Promise<RunResult> => {
    try {
      await network;
    } catch (err) {
      const r = await handle.result;
      // bwrap that failed on its own (a mount) took its netns with it: its reason is the one.
      if (r.signal !== 'SIGKILL') return r;
      throw err;
    }
    try {
      const r = await handle.result;
      if (r.timedOut || r.aborted || stopped) await killCgroup();
      return r;
    } finally {
      await link?.stop();
    }
  })();
  const ready = network.then(() => undefined);
  // Whoever awaits `result` learns of a failure; `ready` alone must not crash the process.
  ready.catch(() => undefined);

  return {
    pid: handle.pid,
    stdout: handle.stdout,
    stderr: handle.stderr,
    ready,
    result,
    async stop() {
      stopped = true;
      await killCgroup();
      handle.kill('SIGKILL');
    },
  };
}

/**
 * Runs `cmd args` in a sandbox described by `spec` and returns how it ended. bwrap's own
 * failures (a bind source missing, a mount refused) end the run with its exit code 1 and the
 * reason on stderr: a failed read-only mount fails the run, it is never a warning.
 */
export function runInSandbox(
  spec: SandboxSpec,
  cmd: string,
  args: readonly string[],
  opts: Omit<LaunchOptions, 'stdio'> = {},
): Promise<RunResult> {
  return launchSandbox(spec, cmd, args, opts).result;
}

/** True when bwrap itself failed (a mount, a namespace): the command never ran. */
export function sandboxSetupFailed(r: Pick<RunResult, 'code' | 'stderr'>): boolean {
  return r.code === 1 && /^bwrap: /m.test(r.stderr);
}
