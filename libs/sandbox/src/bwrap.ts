// bubblewrap sandboxes from a declarative spec. Defaults are the safe ones (new PID/IPC/UTS/net
// namespaces, uid 65534, every capability dropped, cleared environment, dies with its parent), so
// forgetting a field never widens what a job can do.
import type { Cgroup } from './cgroup-types.js';
import {
  EGRESS_PIPES,
  egressNamespaceArgs,
  egressResolvConfArgs,
  withEgress,
  type EgressOptions,
} from './egress.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { spawnProcess, type ProcessHandle, type RunOptions, type RunResult } from './exec.js';

/** A bind mount of a host path into the sandbox. */
export interface BindMount {
  /** Absolute host path. */
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
  /** Default true: the sandbox cannot write it (EROFS). */
  readonly?: boolean;
  /** Skip silently when `source` does not exist (bwrap `--*-bind-try`). Default false. */
  optional?: boolean;
}

/** A fresh tmpfs inside the sandbox. */
export interface TmpfsMount {
  target: string;
  /** Size limit in bytes (bwrap `--size`). Default: the kernel's (half of RAM). */
  sizeBytes?: number;
  /** Mode of the mount's root, e.g. 0o1777 for /tmp (bwrap `--perms`). */
  mode?: number;
}

/** What the sandbox looks like. Every field is optional; the defaults are the strict ones. */
export interface SandboxSpec {
  /** Host directory bound read-only as `/`. Without it `/` is an empty tmpfs to bind into. */
  rootfs?: string;
  /** Bind mounts, applied after `rootfs`, `/proc`, `/dev`, tmpfs mounts and dirs. */
  binds?: BindMount[];
  /** tmpfs mounts (a string is a target with default size and mode). */
  tmpfs?: (string | TmpfsMount)[];
  /** Empty directories to create (bwrap `--dir`), e.g. mount points on an empty root. */
  dirs?: string[];
  /** Symlinks to create: `path` → `target` (e.g. `/bin` → `usr/bin`). */
  symlinks?: { path: string; target: string }[];
  /** Mount a procfs of the sandbox's own PID namespace on /proc. Default true. */
  proc?: boolean;
  /** Mount a minimal /dev (null, zero, full, random, urandom, tty, pts, shm). Default true. */
  dev?: boolean;
  unshare?: {
    /** New network namespace: only `lo`, no route out. Default true. */
    net?: boolean;
    /** Default true. */
    ipc?: boolean;
    /** Default true (needed for `hostname`). */
    uts?: boolean;
    /** Default true (best effort: skipped where the kernel has no cgroup namespaces). */
    cgroup?: boolean;
  };
  /**
   * Connect the sandbox's own network namespace to the outside through slirp4netns, without
   * access to the host's loopback (egress.ts); /etc/resolv.conf points at its DNS forwarder.
   * Needs `unshare.net` and a start through {@link spawnInSandbox}. Default false.
   */
  egress?: boolean;
  /**
   * uid/gid inside the sandbox. Default 65534 (nobody). Any non-zero uid gets a user namespace,
   * and when we are root bwrap itself is started as that uid, so the host kernel sees an
   * unprivileged process: mapped onto host root instead, "nobody" could still read root-owned
   * files such as /etc/shadow through owner permission bits. uid 0 means real root (builds).
   */
  uid?: number;
  gid?: number;
  hostname?: string;
  /** Working directory inside the sandbox. */
  chdir?: string;
  /** The whole environment of the sandboxed process (`--clearenv` first, always). */
  env?: Record<string, string>;
  /** SIGKILL the sandbox when bwrap's parent dies. Default true. */
  dieWithParent?: boolean;
  /** Capabilities dropped: `'ALL'` (default) or a list such as `['CAP_NET_RAW']`. */
  capDrop?: 'ALL' | string[];
  /** setsid() inside, so the job cannot inject keystrokes into a terminal (TIOCSTI). Default true. */
  newSession?: boolean;
  /** Forbid creating user namespaces inside (needs a user namespace; uid ≠ 0). Default true. */
  disableNestedUserns?: boolean;
}

/** Default sandbox uid/gid: nobody/nogroup. */
export const NOBODY = 65534;

function invalid(message: string): SandboxError {
  return new SandboxError(message, SandboxErrorCode.InvalidSpec);
}

function absolute(what: string, p: string): string {
  if (!p.startsWith('/') || p.includes('\0'))
    throw invalid(`${what} must be an absolute path: '${p}'`);
  return p;
}

function id(what: string, v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe) throw invalid(`invalid ${what} ${v}`);
  return String(v);
}

/**
 * The bubblewrap argument list for `spec` (everything before `--`), in this order: process
 * options, namespaces and ids, `rootfs` as `/`, /proc, /dev, tmpfs mounts, dirs, binds,
 * symlinks, chdir, environment, capabilities. Throws a {@link SandboxError} on an invalid spec.
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const a: string[] = [];
  const uid = spec.uid ?? NOBODY;
  const gid = spec.gid ?? uid;
  const un = spec.unshare ?? {};
  if (spec.dieWithParent ?? true) a.push('--die-with-parent');
  if (spec.newSession ?? true) a.push('--new-session');
  a.push('--unshare-pid');
  if (un.ipc ?? true) a.push('--unshare-ipc');
  if (un.uts ?? true) a.push('--unshare-uts');
  if (un.cgroup ?? true) a.push('--unshare-cgroup-try');
  if (spec.egress) {
    if (!(un.net ?? true)) throw invalid('egress needs a network namespace (unshare.net)');
    a.push(...egressNamespaceArgs());
  } else if (un.net ?? true) a.push('--unshare-net');
  if (uid !== 0 || gid !== 0) {
    a.push('--unshare-user', '--uid', id('uid', uid), '--gid', id('gid', gid));
    if (spec.disableNestedUserns ?? true) a.push('--disable-userns');
  }
  if (spec.hostname !== undefined) {
    if (!(un.uts ?? true)) throw invalid('hostname needs a UTS namespace (unshare.uts)');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(spec.hostname)) {
      throw invalid(`invalid hostname '${spec.hostname}'`);
    }
    a.push('--hostname', spec.hostname);
  }
  if (spec.rootfs !== undefined) a.push('--ro-bind', absolute('rootfs', spec.rootfs), '/');
  if (spec.proc ?? true) a.push('--proc', '/proc');
  if (spec.dev ?? true) a.push('--dev', '/dev');
  for (const t of spec.tmpfs ?? []) {
    const m = typeof t === 'string' ? { target: t } : t;
    if (m.sizeBytes !== undefined) {
      if (!Number.isInteger(m.sizeBytes) || m.sizeBytes <= 0)
        throw invalid(`invalid tmpfs size ${m.sizeBytes}`);
      a.push('--size', String(m.sizeBytes));
    }
    if (m.mode !== undefined) a.push('--perms', m.mode.toString(8).padStart(4, '0'));
    a.push('--tmpfs', absolute('tmpfs target', m.target));
  }
  for (const d of spec.dirs ?? []) a.push('--dir', absolute('dir', d));
  for (const b of spec.binds ?? []) {
    const kind = (b.readonly ?? true) ? '--ro-bind' : '--bind';
    a.push(
      b.optional ? `${kind}-try` : kind,
      absolute('bind source', b.source),
      absolute('bind target', b.target),
    );
  }
  if (spec.egress) a.push(...egressResolvConfArgs());
  for (const l of spec.symlinks ?? []) {
    if (l.target === '' || l.target.includes('\0'))
      throw invalid(`invalid symlink target '${l.target}'`);
    a.push('--symlink', l.target, absolute('symlink path', l.path));
  }
  if (spec.chdir !== undefined) a.push('--chdir', absolute('chdir', spec.chdir));
  a.push('--clearenv');
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw invalid(`invalid environment variable name '${k}'`);
    if (v.includes('\0')) throw invalid(`environment variable ${k} contains a NUL byte`);
    a.push('--setenv', k, v);
  }
  const drop = spec.capDrop ?? 'ALL';
  for (const c of drop === 'ALL' ? ['ALL'] : drop) {
    if (!/^(ALL|CAP_[A-Z_]+)$/.test(c)) throw invalid(`invalid capability '${c}'`);
    a.push('--cap-drop', c);
  }
  return a;
}

/** Options of {@link runInSandbox}: those of `run`, minus what the spec decides. */
export interface SandboxRunOptions extends Omit<RunOptions, 'env' | 'uid' | 'gid' | 'cwd'> {
  /** Path of the bwrap binary. Default `bwrap` from PATH. */
  bwrapPath?: string;
  /**
   * Start the sandbox inside this cgroup (from `CgroupManager.create`): bwrap joins it before it
   * execs, so nothing in the sandbox ever runs outside it.
   */
  cgroup?: Pick<Cgroup, 'wrap'>;
  /** slirp4netns options of a `spec.egress` sandbox. */
  egress?: EgressOptions;
}

/**
 * Starts `cmd args` in a sandbox described by `spec` (see {@link spawnProcess}). With
 * `spec.egress` the command starts once its network is up, and `result` settles once
 * slirp4netns is gone too (it rejects when the network cannot be set up).
 */
export function spawnInSandbox(
  spec: SandboxSpec,
  cmd: string,
  args: readonly string[],
  opts: SandboxRunOptions = {},
): ProcessHandle {
  const argv = [...bwrapArgs(spec), '--', cmd, ...args];
  const uid = spec.uid ?? NOBODY;
  const gid = spec.gid ?? uid;
  const asUser = process.getuid?.() === 0 && (uid !== 0 || gid !== 0);
  const { bwrapPath, cgroup, egress, ...runOpts } = opts;
  let command = { cmd: bwrapPath ?? 'bwrap', args: argv };
  let dropTo: { uid: number; gid: number } | undefined = asUser ? { uid, gid } : undefined;
  if (cgroup) {
    // Joining writes root-owned cgroup.procs files, so the join runs as root and setpriv
    // (util-linux) drops to the sandbox uid afterwards, as spawning with uid/gid would have.
    if (dropTo) {
      command = {
        cmd: 'setpriv',
        args: ['--reuid', `${uid}`, '--regid', `${gid}`, '--clear-groups', command.cmd, ...argv],
      };
      dropTo = undefined;
    }
    command = cgroup.wrap(command.cmd, command.args);
  }
  const handle = spawnProcess(command.cmd, command.args, {
    ...runOpts,
    // bwrap needs nothing from our environment; the sandbox gets exactly spec.env.
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    // '/' so an unprivileged bwrap can always resolve its working directory.
    cwd: '/',
    ...(dropTo ?? {}),
    ...(spec.egress && { extraPipes: EGRESS_PIPES }),
  });
  return spec.egress ? withEgress(handle, egress) : handle;
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
  opts: SandboxRunOptions = {},
): Promise<RunResult> {
  return spawnInSandbox(spec, cmd, args, opts).result;
}
