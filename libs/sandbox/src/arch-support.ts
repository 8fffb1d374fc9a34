/**
 * Start-up check of a daemon serving one architecture (a build worker for WORKER_ARCH, an agent
 * for AGENT_ARCH): it must be able to execute that arch. Native: nothing to do. Foreign (arm64 on
 * an amd64 host, or the reverse): a QEMU binfmt_misc handler for the arch must be registered with
 * the F (fix-binary) flag — the interpreter is opened at registration, so it works inside
 * bubblewrap roots that do not contain it — and a tiny static ELF of that arch must actually run
 * through it, directly and inside an empty bubblewrap root. Otherwise the daemon refuses to
 * start, naming what is missing and how to fix it.
 *
 * With `registerBinfmt` (and root) the check mounts binfmt_misc if needed, registers
 * `/usr/lib/binfmt.d/<handler>.conf` itself (F flag forced), and `release()` unregisters exactly
 * that again at shutdown. A handler registered by someone else is never replaced or removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Arch } from '@joblet/spec';
import {
  BINFMT_CONF_DIR,
  BINFMT_DIR,
  BinfmtError,
  registerQemuBinfmt,
  unregisterBinfmt,
} from './binfmt.js';
import { PROBE_EXIT_CODE, probeElf } from './elf.js';
import { binfmtHandler, hasCommand, hostDebArch, isRoot, qemuBinfmtName } from './host-probe.js';
import { runInSandbox } from './launcher.js';

/** The daemon cannot execute its arch: the message says what is missing and how to fix it. */
export class ArchUnsupportedError extends Error {
  override readonly name = 'ArchUnsupportedError';
}

export interface ArchSupport {
  arch: Arch;
  native: boolean;
  /** The binfmt_misc handler this check registered itself (unregistered by `release`). */
  registered?: string;
  /** Unregisters what this check registered (idempotent). */
  release(): Promise<void>;
}

/** Who asks, for the messages: `this worker (WORKER_ARCH=arm64) cannot …`. */
export interface ArchDaemon {
  /** `worker`, `agent`. */
  role: string;
  /** The variable that sets the arch, e.g. `WORKER_ARCH`. */
  archVariable: string;
  /** The variable that turns on `registerBinfmt`, e.g. `WORKER_REGISTER_BINFMT`. */
  registerVariable: string;
  /** What the arch is needed for, e.g. `build arm64`, `run arm64 jobs`. */
  purpose: string;
}

/** The part of a pino logger the check uses. */
export interface ArchSupportLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ArchCheckOptions {
  arch: Arch;
  daemon: ArchDaemon;
  /** Register the QEMU handler when none is (needs root). */
  registerBinfmt: boolean;
  /** Where the probe binary is written (must allow exec); removed again. */
  probeDir: string;
  log?: ArchSupportLog;
}

const howToFix = (o: ArchCheckOptions, name: string) =>
  `to ${o.daemon.purpose} on this ${hostDebArch()} host: apt-get install qemu-user-static, then ` +
  `mount -t binfmt_misc binfmt_misc ${BINFMT_DIR} (if ${BINFMT_DIR}/register is missing) and ` +
  `register the handler with the F flag: cat ${BINFMT_CONF_DIR}/${name}.conf > ${BINFMT_DIR}/register ` +
  `(or run the ${o.daemon.role} as root with ${o.daemon.registerVariable}=true to do this at start)`;

const cannot = (o: ArchCheckOptions) =>
  `this ${o.daemon.role} (${o.daemon.archVariable}=${o.arch}) cannot execute ${o.arch} binaries`;

/** What is wrong with the handler `name`, or undefined when it is usable (enabled, F flag). */
function handlerProblem(name: string): string | undefined {
  const handler = binfmtHandler(name);
  if (handler?.enabled && handler.flags.includes('F')) return undefined;
  if (!existsSync(join(BINFMT_DIR, 'register')))
    return `binfmt_misc is not mounted at ${BINFMT_DIR}`;
  if (!handler) return `no binfmt_misc handler ${name} is registered`;
  if (!handler.enabled) return `the binfmt_misc handler ${name} is disabled`;
  return (
    `the binfmt_misc handler ${name} lacks the F (fix-binary) flag ` +
    `(flags: ${handler.flags || 'none'}), so it fails inside sandboxes`
  );
}

/**
 * Checks (and with `registerBinfmt` arranges) that this host executes `arch`.
 * @throws ArchUnsupportedError naming what is missing.
 */
export async function ensureArchSupport(o: ArchCheckOptions): Promise<ArchSupport> {
  const noop = { release: () => Promise.resolve() };
  if (o.arch === hostDebArch()) return { arch: o.arch, native: true, ...noop };
  const name = qemuBinfmtName(o.arch);
  let registered: string | undefined;
  const problem = handlerProblem(name);
  if (problem !== undefined) {
    const someoneElses = binfmtHandler(name) !== undefined;
    if (!o.registerBinfmt || someoneElses) {
      // Never replace a handler someone else registered.
      throw new ArchUnsupportedError(
        `${cannot(o)}: ${problem}; ${howToFix(o, name)}` +
          (someoneElses ? ` (remove the existing one first: echo -1 > ${BINFMT_DIR}/${name})` : ''),
      );
    }
    if (!isRoot()) {
      throw new ArchUnsupportedError(
        `${o.daemon.registerVariable}=true needs root to register ${name} (${problem}); ${howToFix(o, name)}`,
      );
    }
    try {
      await registerQemuBinfmt(o.arch);
    } catch (err) {
      if (err instanceof BinfmtError)
        throw new ArchUnsupportedError(`${cannot(o)}: ${err.message}`);
      throw err;
    }
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
    await runProbe(o);
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

/** How a probe run ended (spawnSync's shape). */
interface ProbeRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string | Buffer | null;
  error?: Error;
}

/** Writes the probe ELF and runs it directly and in an empty bubblewrap root. */
async function runProbe(o: ArchCheckOptions): Promise<void> {
  const { arch } = o;
  await mkdir(o.probeDir, { recursive: true });
  const dir = await mkdtemp(join(o.probeDir, `arch-probe-${arch}-`));
  const file = join(dir, 'probe');
  try {
    await writeFile(file, probeElf(arch));
    await chmod(file, 0o755);
    const fail = (how: string, r: ProbeRun) => {
      const why = r.error ? r.error.message : `exit status ${r.status ?? r.signal}`;
      const stderr = r.stderr ? String(r.stderr).trim().slice(0, 300) : '';
      const name = qemuBinfmtName(arch);
      return new ArchUnsupportedError(
        `${cannot(o)}: a tiny ${arch} ELF ${how} did not run (${why}${stderr ? `: ${stderr}` : ''}, ` +
          `expected exit ${PROBE_EXIT_CODE}); check the binfmt_misc handler ${name} and its ` +
          `interpreter; ${howToFix(o, name)}`,
      );
    };
    const direct = spawnSync(file, [], { timeout: 20_000, stdio: ['ignore', 'ignore', 'pipe'] });
    if (direct.status !== PROBE_EXIT_CODE) throw fail('run on the host', direct);
    if (hasCommand('bwrap', ['--version'])) {
      // An empty root: only the probe. Works only when the interpreter was opened at registration.
      // Run as nobody (its own user namespace): the probe's dir must be reachable.
      await chmod(dir, 0o755);
      const sandboxed = await runInSandbox(
        { proc: false, dev: false, binds: [{ source: file, target: '/probe' }] },
        '/probe',
        [],
        { timeoutMs: 20_000 },
      ).then(
        (r): ProbeRun => ({ status: r.code, signal: r.signal, stderr: r.stderr }),
        (error: Error): ProbeRun => ({ status: null, signal: null, stderr: '', error }),
      );
      if (sandboxed.status !== PROBE_EXIT_CODE)
        throw fail('run in a bubblewrap sandbox', sandboxed);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
