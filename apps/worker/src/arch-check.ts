/**
 * Start-up check: a worker for WORKER_ARCH must be able to execute that arch. Native: nothing to
 * do. Foreign (arm64 on an amd64 host, or the reverse): a QEMU binfmt_misc handler for the arch
 * must be registered with the F (fix-binary) flag — the interpreter is opened at registration, so
 * it works inside bubblewrap roots that do not contain it — and a tiny static ELF of that arch
 * must actually run through it, directly and inside an empty bubblewrap root. Otherwise the worker
 * refuses to start, naming what is missing and how to fix it.
 *
 * With WORKER_REGISTER_BINFMT=true (and root) the worker mounts binfmt_misc if needed, registers
 * `/usr/lib/binfmt.d/<handler>.conf` itself (F flag forced) and unregisters exactly that at
 * shutdown.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@joblet/logging';
import { binfmtHandler, hasCommand, hostDebArch, isRoot, qemuBinfmtName } from '@joblet/sandbox';
import type { Arch } from '@joblet/spec';

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';
export const BINFMT_CONF_DIR = '/usr/lib/binfmt.d';

/** ELF `e_machine` of each architecture the farm builds. */
export const ELF_MACHINE: Record<Arch, number> = { amd64: 0x3e, arm64: 0xb7 };

/** Exit status of the probe binary: proves it ran (not some fallback that exits 0). */
export const PROBE_EXIT_CODE = 42;

/** Machine code of `exit(42)` per arch (Linux syscall ABI). */
const EXIT_CODE: Record<Arch, number[]> = {
  // mov edi, 42; mov eax, 60 (exit); syscall
  amd64: [0xbf, 0x2a, 0, 0, 0, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05],
  // movz x0, #42; movz x8, #93 (exit); svc #0
  arm64: [0x40, 0x05, 0x80, 0xd2, 0xa8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4],
};

/** A minimal static ELF64 executable of `arch` that exits with {@link PROBE_EXIT_CODE}. */
export function probeElf(arch: Arch): Buffer {
  const code = Buffer.from(EXIT_CODE[arch]);
  const base = 0x400000n;
  const headers = 64 + 56;
  const size = BigInt(headers + code.length);
  const b = Buffer.alloc(headers + code.length);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(b, 0); // ELFCLASS64, LSB, v1, SYSV
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(ELF_MACHINE[arch], 18);
  b.writeUInt32LE(1, 20); // EV_CURRENT
  b.writeBigUInt64LE(base + BigInt(headers), 24); // e_entry
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(64, 52); // e_ehsize
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeUInt32LE(5, 68); // PF_R | PF_X
  b.writeBigUInt64LE(0n, 72); // p_offset
  b.writeBigUInt64LE(base, 80); // p_vaddr
  b.writeBigUInt64LE(base, 88); // p_paddr
  b.writeBigUInt64LE(size, 96); // p_filesz
  b.writeBigUInt64LE(size, 104); // p_memsz
  b.writeBigUInt64LE(0x1000n, 112); // p_align
  code.copy(b, headers);
  return b;
}

/** `e_machine` of an ELF file's header, or undefined when `header` is not ELF. */
export function elfMachine(header: Buffer): number | undefined {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
}

/** The worker cannot execute its arch: the message says what is missing and how to fix it. */
export class ArchUnsupportedError extends Error {
  override readonly name = 'ArchUnsupportedError';
}

export interface ArchSupport {
  arch: Arch;
  native: boolean;
  /** The binfmt_misc handler this worker registered itself (unregistered by `release`). */
  registered?: string;
  /** Unregisters what this worker registered (idempotent). */
  release(): Promise<void>;
}

export interface ArchCheckOptions {
  arch: Arch;
  /** WORKER_REGISTER_BINFMT. */
  registerBinfmt: boolean;
  /** Where the probe binary is written (must allow exec); removed again. */
  probeDir: string;
  log?: Logger;
}

const HOW_TO_FIX = (arch: Arch, name: string) =>
  `to build ${arch} on this ${hostDebArch()} host: apt-get install qemu-user-static, then ` +
  `mount -t binfmt_misc binfmt_misc ${BINFMT_DIR} (if ${BINFMT_DIR}/register is missing) and ` +
  `register the handler with the F flag: cat ${BINFMT_CONF_DIR}/${name}.conf > ${BINFMT_DIR}/register ` +
  `(or run the worker as root with WORKER_REGISTER_BINFMT=true to do this at start)`;

/**
 * Checks (and with `registerBinfmt` arranges) that this host executes `arch`.
 * @throws ArchUnsupportedError naming what is missing.
 */
export async function ensureArchSupport(o: ArchCheckOptions): Promise<ArchSupport> {
  const noop = { release: () => Promise.resolve() };
  if (o.arch === hostDebArch()) return { arch: o.arch, native: true, ...noop };
  const name = qemuBinfmtName(o.arch);
  let registered: string | undefined;
  const handler = binfmtHandler(name);
  if (!handler || !handler.enabled || !handler.flags.includes('F')) {
    const problem = !existsSync(join(BINFMT_DIR, 'register'))
      ? `binfmt_misc is not mounted at ${BINFMT_DIR}`
      : !handler
        ? `no binfmt_misc handler ${name} is registered`
        : !handler.enabled
          ? `the binfmt_misc handler ${name} is disabled`
          : `the binfmt_misc handler ${name} lacks the F (fix-binary) flag (flags: ${handler.flags || 'none'}), so it fails inside sandboxes`;
    if (!o.registerBinfmt || handler) {
      // Never replace a handler someone else registered.
      throw new ArchUnsupportedError(
        `this worker (WORKER_ARCH=${o.arch}) cannot execute ${o.arch} binaries: ${problem}; ${HOW_TO_FIX(o.arch, name)}` +
          (handler ? ` (remove the existing one first: echo -1 > ${BINFMT_DIR}/${name})` : ''),
      );
    }
    if (!isRoot()) {
      throw new ArchUnsupportedError(
        `WORKER_REGISTER_BINFMT=true needs root to register ${name} (${problem}); ${HOW_TO_FIX(o.arch, name)}`,
      );
    }
    await registerQemuBinfmt(o.arch);
    registered = name;
    o.log?.info({ handler: name }, 'registered binfmt_misc handler (F flag)');
  }
  const release = async () => {
    if (registered === undefined) return;
    const n = registered;
    registered = undefined;
    await unregisterBinfmt(n).catch((err: unknown) =>
      o.log?.warn({ err, handler: n }, 'cannot unregister binfmt_misc handler'),
    );
  };
  try {
    await runProbe(o.arch, o.probeDir);
  } catch (err) {
    await release();
    throw err;
  }
  return {
    arch: o.arch,
    native: false,
    ...(registered !== undefined ? { registered } : {}),
    release,
  };
}

/** Writes the probe ELF and runs it directly and in an empty bubblewrap root. */
async function runProbe(arch: Arch, probeDir: string): Promise<void> {
  await mkdir(probeDir, { recursive: true });
  const dir = await mkdtemp(join(probeDir, `arch-probe-${arch}-`));
  const file = join(dir, 'probe');
  try {
    await writeFile(file, probeElf(arch));
    await chmod(file, 0o755);
    const fail = (how: string, r: ReturnType<typeof spawnSync>) => {
      const why = r.error ? r.error.message : `exit status ${r.status ?? r.signal}`;
      const stderr = r.stderr ? String(r.stderr).trim().slice(0, 300) : '';
      return new ArchUnsupportedError(
        `this worker (WORKER_ARCH=${arch}) cannot execute ${arch} binaries: a tiny ${arch} ELF ` +
          `${how} did not run (${why}${stderr ? `: ${stderr}` : ''}, expected exit ${PROBE_EXIT_CODE}); ` +
          `check the binfmt_misc handler ${qemuBinfmtName(arch)} and its interpreter; ` +
          HOW_TO_FIX(arch, qemuBinfmtName(arch)),
      );
    };
    const direct = spawnSync(file, [], { timeout: 20_000, stdio: ['ignore', 'ignore', 'pipe'] });
    if (direct.status !== PROBE_EXIT_CODE) throw fail('run on the host', direct);
    if (hasCommand('bwrap', ['--version'])) {
      // An empty root: only the probe. Works only when the interpreter was opened at registration.
      const sandboxed = spawnSync(
        'bwrap',
        ['--ro-bind', file, '/probe', '--unshare-all', '--die-with-parent', '/probe'],
        { timeout: 20_000, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      if (sandboxed.status !== PROBE_EXIT_CODE) {
        throw fail('run in a bubblewrap sandbox', sandboxed);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Mounts binfmt_misc at {@link BINFMT_DIR} unless it is; true when this call mounted it. */
export function mountBinfmtMisc(): boolean {
  if (existsSync(join(BINFMT_DIR, 'register'))) return false;
  const r = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.status !== 0 || !existsSync(join(BINFMT_DIR, 'register'))) {
    throw new ArchUnsupportedError(
      `cannot mount binfmt_misc at ${BINFMT_DIR}: ${r.error?.message ?? r.stderr.trim()}`,
    );
  }
  return true;
}

/**
 * Registers QEMU's handler for `arch` from its binfmt.d file (qemu-user-static), with the F flag
 * forced; mounts binfmt_misc first when needed. Returns the handler's name.
 */
export async function registerQemuBinfmt(arch: Arch): Promise<string> {
  const name = qemuBinfmtName(arch);
  const conf = join(BINFMT_CONF_DIR, `${name}.conf`);
  let line: string;
  try {
    line = (await readFile(conf, 'utf8')).split('\n').find((l) => l.startsWith(`:${name}:`)) ?? '';
  } catch {
    line = '';
  }
  const fields = line.split(':');
  if (fields.length !== 8) {
    throw new ArchUnsupportedError(
      `cannot register ${name}: ${conf} is missing or unreadable (apt-get install qemu-user-static)`,
    );
  }
  const interpreter = fields[6]!;
  if (!existsSync(interpreter)) {
    throw new ArchUnsupportedError(
      `cannot register ${name}: its interpreter ${interpreter} is missing (apt-get install qemu-user-static)`,
    );
  }
  if (!fields[7]!.includes('F')) fields[7] = `${fields[7]}F`;
  mountBinfmtMisc();
  await writeFile(join(BINFMT_DIR, 'register'), fields.join(':'));
  return name;
}

/** Removes a binfmt_misc handler (nothing when it is not registered). */
export async function unregisterBinfmt(name: string): Promise<void> {
  const path = join(BINFMT_DIR, name);
  if (!existsSync(path)) return;
  await writeFile(path, '-1');
}
