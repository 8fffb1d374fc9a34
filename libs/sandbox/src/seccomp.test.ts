// The seccomp program: its numbers are the kernel's (checked against the headers this host has),
// and on a real kernel every refusal holds in a sandbox while ordinary programs still run.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SandboxSpec } from './bwrap.js';
import { hasCommand, hasUnprivilegedUserns, isRoot } from './host-probe.js';
import { runInSandbox } from './launcher.js';
import {
  CLONE_NEW_FLAGS,
  SECCOMP_DENIED_SYSCALLS,
  hostSeccompArch,
  seccompInstructions,
  seccompProgram,
  seccompSyscallNumbers,
} from './seccomp.js';

const HEADERS = {
  x86_64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
  aarch64: '/usr/include/asm-generic/unistd.h',
} as const;

function headerTable(path: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(path, 'utf8').matchAll(/#define\s+__NR(?:3264)?_(\w+)\s+(\d+)/g)) {
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

describe('seccompProgram', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    it.skipIf(!existsSync(HEADERS[arch]))(
      `${arch}: every number is the kernel's [requires ${HEADERS[arch]} (linux-libc-dev)]`,
      () => {
        const table = headerTable(HEADERS[arch]);
        for (const [name, nr] of Object.entries(seccompSyscallNumbers(arch))) {
          expect(table[name], name).toBe(nr);
        }
      },
    );
  }

  it('checks the ABI first, then refuses each denied call, then clone flags; allows the rest', () => {
    const p = seccompInstructions('x86_64');
    expect(p[0]).toEqual([0x20, 0, 0, 4]); // load arch
    expect(p[1]).toEqual([0x15, 1, 0, 0xc000003e]);
    expect(p[2]).toEqual([0x06, 0, 0, 0x80000000]); // other ABI: kill
    expect(p.at(-1)).toEqual([0x06, 0, 0, 0x7fff0000]);
    expect(p.at(-3)).toEqual([0x45, 0, 1, CLONE_NEW_FLAGS]);
    // Every jump lands inside the program.
    p.forEach(([code, jt, jf], i) => {
      if ((code & 0x07) === 0x05) expect(i + 1 + Math.max(jt, jf)).toBeLessThan(p.length);
    });
    expect(seccompProgram('aarch64').length).toBe(seccompInstructions('aarch64').length * 8);
    expect(SECCOMP_DENIED_SYSCALLS).toEqual(
      expect.arrayContaining(['keyctl', 'bpf', 'userfaultfd', 'perf_event_open', 'mount']),
    );
    expect(hostSeccompArch('x64')).toBe('x86_64');
    expect(() => hostSeccompArch('riscv64')).toThrow(/only x86_64 and aarch64/);
  });
});

const canSandbox = hasCommand('bwrap', ['--version']) && hasUnprivilegedUserns();

describe.skipIf(!canSandbox)('the filter in a sandbox [requires bwrap and user namespaces]', () => {
  const host: SandboxSpec = { rootfs: '/', tmpfs: ['/tmp'], env: { PATH: '/usr/bin:/bin' } };
  const nr = seccompSyscallNumbers(hostSeccompArch());
  // Each line: the call's name and errno (0: it worked), through libc's syscall(2).
  const probe = [
    'import ctypes, os',
    'libc = ctypes.CDLL(None, use_errno=True)',
    `calls = {"keyctl": (${nr.keyctl}, 0, 0), "bpf": (${nr.bpf}, 0, 0, 0),`,
    ` "userfaultfd": (${nr.userfaultfd}, 0), "perf_event_open": (${nr.perf_event_open}, 0, 0, -1, -1, 0),`,
    ` "unshare": (${nr.unshare}, 0x10000000), "mount": (${nr.mount}, 0, 0, 0, 0, 0),`,
    ` "clone-newuser": (${nr.clone}, 0x10000000 | 17, 0, 0, 0, 0), "getpid": (39 if os.uname().machine == "x86_64" else 172,)}`,
    'for name, args in calls.items():',
    '    r = libc.syscall(*[ctypes.c_long(a) for a in args])',
    '    print(name, 0 if r >= 0 else ctypes.get_errno())',
  ].join('\n');
  const run = (spec: SandboxSpec) =>
    runInSandbox(spec, '/usr/bin/python3', ['-c', probe], { timeoutMs: 20_000 });
  const table = (out: string) =>
    Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]),
    );

  it('refuses keyrings, bpf, userfaultfd, perf, namespaces and mounts to a job; EPERM', async () => {
    const r = await run(host);
    expect(r.code, r.stderr).toBe(0);
    expect(table(r.stdout)).toEqual({
      keyctl: '1',
      bpf: '1',
      userfaultfd: '1',
      perf_event_open: '1',
      unshare: '1',
      mount: '1',
      'clone-newuser': '1',
      getpid: '0',
    });
  });

  it.skipIf(!isRoot())(
    'refuses the same to a build running as root with capabilities [requires root]',
    async () => {
      const build: SandboxSpec = { ...host, uid: 0, gid: 0, capabilities: ['CAP_SYS_CHROOT'] };
      const r = await run(build);
      expect(r.code, r.stderr).toBe(0);
      expect(table(r.stdout)).toMatchObject({ unshare: '1', 'clone-newuser': '1', mount: '1' });
      const u = await runInSandbox(build, '/usr/bin/unshare', ['--user', 'true']);
      expect(u.code).not.toBe(0);
      expect(u.stderr).toMatch(/Operation not permitted/);
      // Without the filter (seccomp: false) the same build could: the test proves the filter.
      const open = await runInSandbox({ ...build, seccomp: false }, '/usr/bin/unshare', [
        '--user',
        'true',
      ]);
      expect(open.code, open.stderr).toBe(0);
    },
  );

  it('leaves ordinary programs working: threads, subprocesses, sockets', async () => {
    const r = await runInSandbox(
      host,
      '/usr/bin/python3',
      [
        '-c',
        'import threading, subprocess, socket; t = threading.Thread(target=lambda: None); t.start(); t.join(); ' +
          'print(subprocess.run(["sh", "-c", "echo child"], capture_output=True, text=True).stdout.strip()); ' +
          's = socket.socket(); s.bind(("127.0.0.1", 0)); print("ok")',
      ],
      { timeoutMs: 20_000 },
    );
    expect(r.stdout, r.stderr).toBe('child\nok\n');
  });
});
