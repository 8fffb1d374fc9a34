/**
 * The sandboxes' seccomp filter: a classic-BPF program, handed to bwrap's `--seccomp FD`, that
 * refuses the system calls Docker's default profile refuses to a container without extra
 * capabilities — the kernel keyring, BPF, perf, userfaultfd, module and kexec loading, mounts
 * and the new mount API, namespaces (unshare, setns, clone with CLONE_NEW*), ptrace and
 * process_vm_*, open_by_handle_at, clock and swap changes, io_uring — with EPERM, and `clone3`
 * with ENOSYS so that libc falls back to `clone`, whose flags a filter can read. A call made with
 * another ABI than the host's (i386 or x32 on x86_64) kills the process: the numbers below would
 * not mean what they say there.
 *
 * Why a builder of our own rather than libseccomp: the program is a denylist of ~55 numbers and
 * one flags test, ~120 instructions; libseccomp would need a native addon or a C helper compiled
 * on every host for that. The numbers are checked against the kernel headers of the host in the
 * tests (x86_64 `asm/unistd_64.h`, aarch64 `asm-generic/unistd.h`), and every refusal is proved
 * by a real sandbox there. Under QEMU user emulation (arm64 on amd64) the kernel sees QEMU's
 * host system calls, so the host's table is the one that applies.
 */
import { SandboxError, SandboxErrorCode } from './errors.js';

/** System call numbers of the calls the filter refuses, per host ABI (undefined: no such call). */
const DENIED: Record<string, readonly [x86_64: number | undefined, aarch64: number | undefined]> = {
  acct: [163, 89],
  add_key: [248, 217],
  bpf: [321, 280],
  clock_adjtime: [305, 266],
  clock_settime: [227, 112],
  create_module: [174, undefined],
  delete_module: [176, 106],
  fanotify_init: [300, 262],
  finit_module: [313, 273],
  fsconfig: [431, 431],
  fsmount: [432, 432],
  fsopen: [430, 430],
  fspick: [433, 433],
  get_kernel_syms: [177, undefined],
  init_module: [175, 105],
  io_uring_enter: [426, 426],
  io_uring_register: [427, 427],
  io_uring_setup: [425, 425],
  ioperm: [173, undefined],
  iopl: [172, undefined],
  kcmp: [312, 272],
  kexec_file_load: [320, 294],
  kexec_load: [246, 104],
  keyctl: [250, 219],
  lookup_dcookie: [212, 18],
  mount: [165, 40],
  mount_setattr: [442, 442],
  move_mount: [429, 429],
  name_to_handle_at: [303, 264],
  nfsservctl: [180, 42],
  open_by_handle_at: [304, 265],
  open_tree: [428, 428],
  perf_event_open: [298, 241],
  pidfd_getfd: [438, 438],
  pivot_root: [155, 41],
  process_vm_readv: [310, 270],
  process_vm_writev: [311, 271],
  ptrace: [101, 117],
  query_module: [178, undefined],
  quotactl: [179, 60],
  quotactl_fd: [443, 443],
  reboot: [169, 142],
  request_key: [249, 218],
  setns: [308, 268],
  settimeofday: [164, 170],
  swapoff: [168, 225],
  swapon: [167, 224],
  syslog: [103, 116],
  sysfs: [139, undefined],
  _sysctl: [156, undefined],
  umount2: [166, 39],
  unshare: [272, 97],
  uselib: [134, undefined],
  userfaultfd: [323, 282],
  ustat: [136, undefined],
  vhangup: [153, 58],
};

/** `clone` (flags checked) and `clone3` (ENOSYS), per ABI. */
const CLONE: readonly [number, number] = [56, 220];
const CLONE3 = 435;

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME. */
export const CLONE_NEW_FLAGS = 0x7e020080;

/** The system calls the filter refuses with EPERM (clone with CLONE_NEW* flags besides). */
export const SECCOMP_DENIED_SYSCALLS: readonly string[] = Object.keys(DENIED);

/** The host ABIs the filter knows. */
export type SeccompArch = 'x86_64' | 'aarch64';

const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };
const EPERM = 1;
const ENOSYS = 38;
const X32_SYSCALL_BIT = 0x40000000;

// Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
const LD_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET = 0x06; // BPF_RET | BPF_K
const RET_KILL_PROCESS = 0x80000000;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;
// struct seccomp_data: nr at 0, arch at 4, args[0] (low 32 bits, little-endian) at 16.
const NR = 0;
const ARCH = 4;
const ARG0_LO = 16;

/** The host's ABI as the filter names it. */
export function hostSeccompArch(arch: string = process.arch): SeccompArch {
  if (arch === 'x64') return 'x86_64';
  if (arch === 'arm64') return 'aarch64';
  throw new SandboxError(
    `no seccomp filter for this host's architecture (${arch}): only x86_64 and aarch64`,
    SandboxErrorCode.InvalidSpec,
  );
}

type Insn = [code: number, jt: number, jf: number, k: number];

/** The filter's instructions for `arch`. */
export function seccompInstructions(arch: SeccompArch = hostSeccompArch()): Insn[] {
  const col = arch === 'x86_64' ? 0 : 1;
  const p: Insn[] = [
    [LD_ABS, 0, 0, ARCH],
    [JEQ, 1, 0, AUDIT_ARCH[arch]],
    [RET, 0, 0, RET_KILL_PROCESS],
    [LD_ABS, 0, 0, NR],
  ];
  if (arch === 'x86_64') p.push([JGE, 0, 1, X32_SYSCALL_BIT], [RET, 0, 0, RET_KILL_PROCESS]);
  for (const nrs of Object.values(DENIED)) {
    const nr = nrs[col];
    if (nr !== undefined) p.push([JEQ, 0, 1, nr], [RET, 0, 0, retErrno(EPERM)]);
  }
  p.push(
    [JEQ, 0, 1, CLONE3],
    [RET, 0, 0, retErrno(ENOSYS)],
    [JEQ, 0, 3, CLONE[col]],
    [LD_ABS, 0, 0, ARG0_LO],
    [JSET, 0, 1, CLONE_NEW_FLAGS],
    [RET, 0, 0, retErrno(EPERM)],
    [RET, 0, 0, RET_ALLOW],
  );
  return p;
}

/** The filter as bwrap's `--seccomp` reads it: `struct sock_filter[]` in host byte order. */
export function seccompProgram(arch: SeccompArch = hostSeccompArch()): Buffer {
  const insns = seccompInstructions(arch);
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** The numbers the filter uses for `arch`, by name (for the tests against kernel headers). */
export function seccompSyscallNumbers(arch: SeccompArch): Record<string, number> {
  const col = arch === 'x86_64' ? 0 : 1;
  const out: Record<string, number> = { clone: CLONE[col], clone3: CLONE3 };
  for (const [name, nrs] of Object.entries(DENIED)) {
    const nr = nrs[col];
    if (nr !== undefined) out[name] = nr;
  }
  return out;
}
