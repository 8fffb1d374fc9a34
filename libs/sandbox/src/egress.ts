/**
 * Egress-only networking for bubblewrap sandboxes (what it may reach: egress-policy.ts). A sandbox sharing the host's network namespace
 * reaches every service on the host's loopback (the farm's Redis on 127.0.0.1:6379, the API);
 * one with a bare namespace reaches nothing. Here the sandbox gets its own network namespace and
 * slirp4netns (user-mode TCP/IP, what rootless Podman, Docker and BuildKit use) connects it to
 * the outside world through ordinary sockets of the host, started with
 * `--disable-host-loopback` so the sandbox's gateway (10.0.2.2) does not lead to the host's
 * 127.0.0.1. DNS goes to slirp's resolver 10.0.2.3, which forwards to the host's nameservers
 * (egress-resolv.ts has the exception: a host whose nameserver is on its loopback).
 *
 * Mechanics: bwrap is started with `--unshare-net --info-fd 3 --block-fd 4` and
 * `--ro-bind-data 5 /etc/resolv.conf`; it reports the sandbox's pid as JSON on fd 3 and waits
 * before running the command until fd 4 is readable. Once bwrap has brought up the namespace's
 * loopback (slirp4netns sets `lo` up too, and if it wins, the kernel's automatic 127.0.0.1 makes
 * bwrap 0.8's own RTM_NEWADDR fail with EEXIST), we start slirp4netns on that pid
 * (`--configure`, `--ready-fd`), wait until the network is up, set the egress policy's nftables
 * rules in the sandbox's namespace, and release the sandbox. When
 * the sandbox ends, slirp4netns is stopped (SIGTERM, then SIGKILL); it also exits by itself when
 * its `--exit-fd` pipe closes, i.e. when this process dies, so none outlives us.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EgressAllow } from '@joblet/spec';
import { attachBridge, type BridgeAttachment } from './bridge-attach.js';
import { applyEgressPolicy, nameserverAllows } from './egress-policy.js';
import { egressResolvConf } from './egress-resolv.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { spawnProcess, type ProcessHandle, type RunResult } from './exec.js';

/** Pipes bwrap needs beyond stdio: fds 3 (info), 4 (block), 5 (resolv.conf contents). */
export const EGRESS_PIPES = 3;

/** Environment variable naming the sandbox a slirp4netns serves (for `ps e` and leak checks). */
export const EGRESS_LABEL_VAR = 'JOBLET_EGRESS_LABEL';

/** bwrap's namespace options of an egress sandbox (with the other `--unshare-*` options). */
export function egressNamespaceArgs(): string[] {
  return ['--unshare-net', '--info-fd', '3', '--block-fd', '4'];
}

/**
 * bwrap's mount of the sandbox's resolv.conf: after the root and /etc are in place. 0644, as
 * resolv.conf always is: bwrap makes data files 0600 by default, and then only the sandbox's
 * root resolves names — apt's downloader (`_apt`, as a build hook's `apt-get install` runs it)
 * failed with "Temporary failure resolving".
 */
export function egressResolvConfArgs(): string[] {
  return ['--perms', '0644', '--ro-bind-data', '5', '/etc/resolv.conf'];
}

export interface EgressOptions {
  /** Default `slirp4netns` from PATH. */
  slirpPath?: string;
  /** How long slirp4netns may take to bring the network up (ms). Default 10 s. */
  setupTimeoutMs?: number;
  /** Set as {@link EGRESS_LABEL_VAR} in slirp4netns's environment, e.g. a build's cgroup name. */
  label?: string;
  /** The sandbox's /etc/resolv.conf. Default: {@link egressResolvConf} of this host. */
  resolvConf?: string;
  /**
   * The operator's exceptions to the egress policy (egress-policy.ts): ranges or address:port the
   * sandbox may reach although they are private, link-local or the host's own. Default none.
   */
  allow?: readonly EgressAllow[];
}

/** slirp4netns's arguments for the sandbox process `pid`: ready on fd 3, exit when fd 4 closes. */
export function slirpArgs(pid: number): string[] {
  return [
    '--configure',
    '--mtu=65520',
    '--disable-host-loopback',
    // Its own mount namespace and seccomp filter: a bug in slirp reached from the sandbox
    // lands in a process that can do little more than open sockets.
    '--enable-sandbox',
    '--enable-seccomp',
    // As root, join the netns from our own user namespace: the target's (bwrap's nested one
    // for uid 65534 with --disable-userns) holds no capability over the netns.
    ...(process.getuid?.() === 0 ? ['--userns-path=/proc/self/ns/user'] : []),
    '--ready-fd=3',
    '--exit-fd=4',
    String(pid),
    'tap0',
  ];
}

/** What connects one sandbox's network: slirp4netns, or a veth into a bridge (bridge-attach.ts). */
export interface EgressLink {
  /** Stops slirp4netns and waits for it to exit, or removes the veth. Idempotent. */
  stop(): Promise<void>;
}

function networkFailed(message: string): SandboxError {
  return new SandboxError(message, SandboxErrorCode.NetworkFailed);
}

/**
 * The `child-pid` bwrap reports on its info fd, or undefined when the sandbox ends (or the
 * pipe closes) first: bwrap failed, and its own result says why.
 */
export function readChildPid(info: Duplex, exited: Promise<unknown>): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (pid: number | undefined): void => {
      if (done) return;
      done = true;
      info.off('data', onData);
      info.destroy();
      resolve(pid);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (text.length > 64 * 1024) return finish(undefined);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return; // not complete yet
      }
      const pid = (parsed as { 'child-pid'?: unknown })['child-pid'];
      finish(typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined);
    };
    info.on('data', onData);
    info.once('close', () => finish(undefined));
    exited.then(
      () => finish(undefined),
      () => finish(undefined),
    );
  });
}

/**
 * Waits until bwrap has set up the loopback of `pid`'s network namespace: 127.0.0.1 enters the
 * local routing table only once `lo` is up, which bwrap does after adding the address. False
 * when the sandbox ended first.
 */
export async function waitLoopbackUp(
  pid: number,
  exited: Promise<unknown>,
  timeoutMs: number,
): Promise<boolean> {
  let ended = false;
  void exited.then(
    () => (ended = true),
    () => (ended = true),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let trie: string;
    try {
      trie = await readFile(`/proc/${pid}/net/fib_trie`, 'utf8');
    } catch {
      return false; // the process is gone
    }
    if (ended) return false;
    if (trie.includes('127.0.0.1')) return true;
    if (Date.now() > deadline) {
      throw networkFailed(`the sandbox's loopback did not come up in ${timeoutMs} ms`);
    }
    await sleep(1);
  }
}

/** Resolves when slirp4netns reports ready; rejects when it exits or times out first. */
function waitReady(slirp: ProcessHandle, timeoutMs: number): Promise<void> {
  const ready = slirp.pipes[0]!;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(networkFailed(`slirp4netns did not bring the network up in ${timeoutMs} ms`)),
      timeoutMs,
    );
    ready.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    slirp.result.then(
      (r) => {
        clearTimeout(timer);
        reject(networkFailed(`slirp4netns failed before the network was up: ${describe(r)}`));
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(networkFailed(`cannot start slirp4netns: ${err.message}`));
      },
    );
  }).finally(() => ready.destroy());
}

function describe(r: RunResult): string {
  const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
  const err = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^(sent|received) tapfd=/.test(l))
    .slice(-5)
    .join('; ');
  return err ? `${how}: ${err}` : how;
}

/**
 * Brings up the network of a sandbox bwrap started with {@link egressNamespaceArgs} and
 * {@link egressResolvConfArgs}, given bwrap's pipes (fds 3, 4, 5) and a promise that settles
 * when it exits: slirp4netns, or with `bridge` a veth into that bridge network (whose own range
 * the policy then lets it reach). Returns undefined when the sandbox ended before it reported its pid (nothing
 * to connect; its result tells why). On a failure the caller must kill the sandbox: it is
 * still waiting on its block fd.
 * @throws SandboxError `SANDBOX_NETWORK_FAILED` naming what failed (slirp4netns missing,
 *   refused, too slow).
 */
export async function connectEgress(
  pipes: readonly Duplex[],
  exited: Promise<unknown>,
  opts: EgressOptions = {},
  bridge?: BridgeAttachment,
): Promise<EgressLink | undefined> {
  const [info, block, resolv] = pipes;
  if (!info || !block || !resolv) {
    throw new SandboxError(
      `an egress sandbox needs ${EGRESS_PIPES} pipes, got ${pipes.length}`,
      SandboxErrorCode.InvalidSpec,
    );
  }
  const resolvConf = opts.resolvConf ?? egressResolvConf();
  resolv.end(resolvConf);
  const timeoutMs = opts.setupTimeoutMs ?? 10_000;
  // The block pipe is never closed here before the sandbox has ended: bwrap takes EOF on it as
  // a go too. It closes by itself once bwrap is gone.
  let link: EgressLink | undefined;
  try {
    const pid = await readChildPid(info, exited);
    if (pid === undefined) {
      if (await endsWithin(exited, 2000)) return undefined;
      throw networkFailed('bwrap closed its info fd without reporting the sandbox pid');
    }
    if (!(await waitLoopbackUp(pid, exited, timeoutMs))) return undefined; // it ended
    const allow = [...(opts.allow ?? []), ...nameserverAllows(resolvConf)];
    if (bridge) {
      link = await attachBridge(pid, bridge);
      allow.unshift({ net: bridge.cidr, family: 4 });
    } else {
      const slirp = spawnProcess(opts.slirpPath ?? 'slirp4netns', slirpArgs(pid), {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', [EGRESS_LABEL_VAR]: opts.label ?? '' },
        cwd: '/',
        stdout: 'ignore',
        maxBufferBytes: 16 * 1024,
        extraPipes: 2,
      });
      link = slirpLink(slirp);
      await waitReady(slirp, timeoutMs);
    }
    // The policy is in place before the command runs: it never sees the network without it.
    await applyEgressPolicy(pid, allow);
  } catch (err) {
    await link?.stop();
    throw err;
  }
  // The network is up: let the command run.
  block.end('1');
  return link;
}

/** True when `exited` settles within `ms`. */
async function endsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  const ended = exited.then(
    () => true,
    () => true,
  );
  return Promise.race([ended, sleep(ms).then(() => false)]);
}

function slirpLink(slirp: ProcessHandle): EgressLink {
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        slirp.pipes[1]?.destroy(); // --exit-fd
        slirp.kill('SIGTERM');
        const killer = setTimeout(() => slirp.kill('SIGKILL'), 2000);
        await slirp.result.catch(() => undefined);
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}
