// The declarative description of a bubblewrap sandbox and its bwrap argument list. Defaults are
// the safe ones (new PID/IPC/UTS/net namespaces, uid 65534, every capability dropped, cleared
// environment, dies with its parent), so forgetting a field never widens what a job can do.
// launcher.ts starts a sandbox from this description.
import type { BridgeAttachment } from './bridge-attach.js';
import { EGRESS_PIPES, egressNamespaceArgs, egressResolvConfArgs } from './egress.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { checkIdRange, type IdRange } from './userns.js';

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

/**
 * The network of a sandbox. `none`: its own namespace with only `lo`. `egress`: its own namespace
 * connected to the outside by slirp4netns, never to the host's loopback (egress.ts), with
 * /etc/resolv.conf naming slirp's DNS forwarder. `host`: the host's namespace (unsafe: every
 * service on the host's loopback is reachable). `bridge`: its own namespace linked by a veth
 * pair to a bridge of this host ({@link SandboxSpec.bridge}, bridge-attach.ts), under the same
 * egress policy as `egress` but for its own network's range.
 */
export type SandboxNetwork = 'none' | 'egress' | 'host' | 'bridge';

/** A network set up by the launcher before the command runs (bwrap's block fd): pipes 3–5. */
export function connectedNetwork(network: SandboxNetwork | undefined): boolean {
  return network === 'egress' || network === 'bridge';
}

/**
 * A writable, throw-away root: an overlay of `lower` (never changed) and `upper` (what the sandbox
 * writes), mounted by the launcher at `mountpoint` in a mount namespace of its own — no other
 * mount namespace ever sees it, and it goes away with the sandbox — then bound as `/`. `upper`
 * and `work` share one filesystem; no path may hold `,`, `:` or `\\` (overlay option syntax).
 */
export interface RootOverlay {
  lower: string;
  upper: string;
  work: string;
  mountpoint: string;
}

/**
 * Root of a user namespace that maps exactly one id: uid/gid 0 inside is this unprivileged host
 * uid/gid. Root to what runs inside (it owns the sandbox's files, may chown them to 0 and keeps
 * the capabilities it was given, inside the namespace only), an unprivileged user to the host.
 */
export interface UsernsRoot {
  hostUid: number;
  hostGid: number;
}

/** What the sandbox looks like. Every field is optional; the defaults are the strict ones. */
export interface SandboxSpec {
  /** Host directory bound as `/` (read-only unless `rootfsWritable`). Without it `/` is an empty tmpfs to bind into. */
  rootfs?: string;
  /** Bind `rootfs` read-write (a build's overlay root). Default false. */
  rootfsWritable?: boolean;
  /** A writable, throw-away root (needs the launcher to run as root); excludes `rootfs`. */
  rootOverlay?: RootOverlay;
  /** uid/gid 0 in a user namespace whose root is an unprivileged host id; excludes `uid`/`gid`. */
  usernsRoot?: UsernsRoot;
  /**
   * Remount `/` read-only once every mount point exists (an empty root with binds): writing
   * anywhere but writable binds and tmpfs mounts fails with EROFS. Default false.
   */
  readonlyRoot?: boolean;
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
  /** Default `none`. */
  network?: SandboxNetwork;
  /** With `network: 'bridge'` (required then): the bridge, the veth and the sandbox's address. */
  bridge?: BridgeAttachment;
  unshare?: {
    /** Default true. */
    ipc?: boolean;
    /** Default true (needed for `hostname`). */
    uts?: boolean;
    /** Default true (best effort: skipped where the kernel has no cgroup namespaces). */
    cgroup?: boolean;
  };
  /**
   * uid/gid inside the sandbox. Default 65534 (nobody). Any non-zero uid gets a user namespace,
   * and when we are root bwrap itself is started as that uid, so the host kernel sees an
   * unprivileged process: mapped onto host root instead, "nobody" could still read root-owned
   * files such as /etc/shadow through owner permission bits. uid 0 without `subids` means real
   * root; with `subids` it is the only choice (that namespace's root).
   */
  uid?: number;
  gid?: number;
  /**
   * Rootless (userns.ts): run in a user namespace mapping `count` ids from host id `first`
   * (delegated to root in /etc/subuid and /etc/subgid), so that root inside is that unprivileged
   * host uid and `capabilities` count over the namespace only. Needs root. Nested user
   * namespaces are refused inside (`disableNestedUserns` does not apply).
   */
  subids?: IdRange;
  hostname?: string;
  /** Working directory inside the sandbox. */
  chdir?: string;
  /** The whole environment of the sandboxed process (`--clearenv` first, always). */
  env?: Record<string, string>;
  /** SIGKILL the sandbox when bwrap's parent dies. Default true. */
  dieWithParent?: boolean;
  /**
   * Capabilities the sandboxed process keeps, e.g. `['CAP_CHOWN']`; every other one is dropped
   * (bounding set included). Default none.
   */
  capabilities?: string[];
  /** setsid() inside, so the job cannot inject keystrokes into a terminal (TIOCSTI). Default true. */
  newSession?: boolean;
  /** Forbid creating user namespaces inside (needs a user namespace; uid ≠ 0). Default true. */
  disableNestedUserns?: boolean;
  /**
   * Load the farm's seccomp filter (seccomp.ts: what Docker's default profile refuses, namespaces
   * and mounts included) before the command runs. Default true.
   */
  seccomp?: boolean;
}

/** The fd bwrap reads the seccomp program from: the first pipe after the egress ones. */
export function seccompFd(spec: Pick<SandboxSpec, 'network'>): number {
  return 3 + (connectedNetwork(spec.network) ? EGRESS_PIPES : 0);
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

/** An absolute path that overlayfs options can carry. */
function overlayPath(what: string, p: string): string {
  absolute(`rootOverlay.${what}`, p);
  if (/[,:\\]/.test(p)) throw invalid(`rootOverlay.${what} must not contain , : or \\: '${p}'`);
  return p;
}

/** overlayfs mount options of `o` (paths checked). */
export function overlayOptions(o: RootOverlay): string {
  return (
    `lowerdir=${overlayPath('lower', o.lower)},upperdir=${overlayPath('upper', o.upper)},` +
    `workdir=${overlayPath('work', o.work)}`
  );
}

function id(what: string, v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe) throw invalid(`invalid ${what} ${v}`);
  return String(v);
}

/**
 * The bubblewrap argument list for `spec` (everything before `--`), in this order: process
 * options, namespaces and ids, `rootfs` as `/`, /proc, /dev, tmpfs mounts, dirs, binds,
 * symlinks, the read-only remount of `/`, chdir, environment, capabilities. Pure: the one place
 * that starts bwrap is launcher.ts. Throws a {@link SandboxError} on an invalid spec.
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const a: string[] = [];
  if (spec.usernsRoot && (spec.uid !== undefined || spec.gid !== undefined))
    throw invalid('usernsRoot excludes uid and gid (they are 0 inside)');
  if (spec.rootOverlay && spec.rootfs !== undefined) throw invalid('rootOverlay excludes rootfs');
  const uid = spec.usernsRoot ? 0 : (spec.uid ?? NOBODY);
  const gid = spec.usernsRoot ? 0 : (spec.gid ?? uid);
  const un = spec.unshare ?? {};
  if (spec.dieWithParent ?? true) a.push('--die-with-parent');
  if (spec.newSession ?? true) a.push('--new-session');
  a.push('--unshare-pid');
  if (un.ipc ?? true) a.push('--unshare-ipc');
  if (un.uts ?? true) a.push('--unshare-uts');
  if (un.cgroup ?? true) a.push('--unshare-cgroup-try');
  const network = spec.network ?? 'none';
  if (network === 'bridge' && !spec.bridge) throw invalid("network 'bridge' needs spec.bridge");
  if (connectedNetwork(network)) a.push(...egressNamespaceArgs());
  else if (network === 'none') a.push('--unshare-net');
  else if (network !== 'host') throw invalid(`invalid network '${String(network)}'`);
  if (spec.usernsRoot) {
    if (spec.subids) throw invalid('usernsRoot excludes subids');
    id('host uid', spec.usernsRoot.hostUid);
    id('host gid', spec.usernsRoot.hostGid);
    if (spec.usernsRoot.hostUid === 0 || spec.usernsRoot.hostGid === 0)
      throw invalid('usernsRoot must map an unprivileged host uid and gid');
  }
  if (spec.subids) {
    // The namespace exists already (launcher.ts runs bwrap as its root), and no nested one
    // may be made in it: the sandbox is that root.
    checkIdRange(spec.subids);
    if (uid !== 0 || gid !== 0) throw invalid('a sandbox with subids runs as its root (uid/gid 0)');
  } else if (uid !== 0 || gid !== 0 || spec.usernsRoot) {
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
  if (spec.rootfs !== undefined) {
    a.push(spec.rootfsWritable ? '--bind' : '--ro-bind', absolute('rootfs', spec.rootfs), '/');
  }
  if (spec.rootOverlay)
    a.push('--bind', overlayPath('mountpoint', spec.rootOverlay.mountpoint), '/');
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
  if (connectedNetwork(network)) a.push(...egressResolvConfArgs());
  for (const l of spec.symlinks ?? []) {
    if (l.target === '' || l.target.includes('\0'))
      throw invalid(`invalid symlink target '${l.target}'`);
    a.push('--symlink', l.target, absolute('symlink path', l.path));
  }
  if (spec.readonlyRoot) a.push('--remount-ro', '/');
  if (spec.chdir !== undefined) a.push('--chdir', absolute('chdir', spec.chdir));
  a.push('--clearenv');
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw invalid(`invalid environment variable name '${k}'`);
    if (v.includes('\0')) throw invalid(`environment variable ${k} contains a NUL byte`);
    a.push('--setenv', k, v);
  }
  if (spec.seccomp ?? true) a.push('--seccomp', String(seccompFd(spec)));
  a.push('--cap-drop', 'ALL');
  for (const c of spec.capabilities ?? []) {
    if (!/^CAP_[A-Z_]+$/.test(c)) throw invalid(`invalid capability '${c}'`);
    a.push('--cap-add', c);
  }
  return a;
}
