// What this host can do, probed rather than assumed: tests skip with the name of what is
// missing, and daemons can refuse at start-up with a clear message.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

/** True when the process runs as root (uid 0). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** True when `cmd args` can be started and exits 0 (e.g. `hasCommand('bwrap', ['--version'])`). */
export function hasCommand(cmd: string, args: readonly string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

/** The Debian architecture name of this host (`amd64`, `arm64`, ...). */
export function hostDebArch(): string {
  const map: Partial<Record<string, string>> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'armhf',
    ia32: 'i386',
    ppc64: 'ppc64el',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return map[process.arch] ?? process.arch;
}

/** The QEMU binfmt_misc handler name for a Debian architecture. */
export function qemuBinfmtName(debArch: string): string {
  const map: Partial<Record<string, string>> = {
    arm64: 'qemu-aarch64',
    amd64: 'qemu-x86_64',
    armhf: 'qemu-arm',
    ppc64el: 'qemu-ppc64le',
    s390x: 'qemu-s390x',
    riscv64: 'qemu-riscv64',
    i386: 'qemu-i386',
  };
  return map[debArch] ?? `qemu-${debArch}`;
}

/** A registered binfmt_misc handler, from `/proc/sys/fs/binfmt_misc/<name>`. */
export interface BinfmtHandler {
  enabled: boolean;
  interpreter: string;
  /** e.g. `POF`; `F` (fix binary) lets it work inside chroots and sandboxes. */
  flags: string;
}

/** The binfmt_misc handler `name` (e.g. `qemu-aarch64`), or undefined when not registered. */
export function binfmtHandler(name: string): BinfmtHandler | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/sys/fs/binfmt_misc/${name}`, 'utf8');
  } catch {
    return undefined;
  }
  // Format: "enabled\ninterpreter /usr/libexec/...\nflags: POF\noffset 0\nmagic ...".
  const field = (prefix: string): string =>
    text
      .split('\n')
      .find((l) => l.startsWith(prefix))
      ?.slice(prefix.length)
      .trim() ?? '';
  return {
    enabled: text.startsWith('enabled'),
    interpreter: field('interpreter '),
    flags: field('flags: '),
  };
}

/** True when the user namespaces bubblewrap needs can be created by an unprivileged process. */
export function hasUnprivilegedUserns(): boolean {
  const r = spawnSync('unshare', ['--user', '--map-root-user', 'true'], {
    stdio: 'ignore',
    timeout: 10_000,
    ...(isRoot() ? { uid: 65534, gid: 65534 } : {}),
  });
  return r.error === undefined && r.status === 0;
}

/**
 * True when the running kernel is at least `major.minor` (from `uname -r`, e.g.
 * `6.18.44-fc-v669`): for interface files that cannot be probed where they are absent, such as
 * `cgroup.kill` (5.14), which the root cgroup never has.
 */
export function kernelAtLeast(major: number, minor: number, kernelRelease = release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const [ma, mi] = [Number(m[1]), Number(m[2])];
  return ma > major || (ma === major && mi >= minor);
}
