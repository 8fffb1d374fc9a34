/**
 * Registering QEMU user emulation with the kernel's binfmt_misc: mount it when needed, register a
 * handler from qemu-user-static's binfmt.d file with the F (fix-binary) flag forced — the
 * interpreter is opened at registration, so foreign binaries also run inside sandboxes whose root
 * does not contain it — and remove a handler again. Reading a handler is `binfmtHandler`
 * (host-probe.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { qemuBinfmtName } from './host-probe.js';

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';
export const BINFMT_CONF_DIR = '/usr/lib/binfmt.d';

/** Registering or mounting binfmt_misc failed; the message says what is missing. */
export class BinfmtError extends Error {
  override readonly name = 'BinfmtError';
}

/** Mounts binfmt_misc at {@link BINFMT_DIR} unless it is; true when this call mounted it. */
export function mountBinfmtMisc(): boolean {
  if (existsSync(join(BINFMT_DIR, 'register'))) return false;
  const r = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.status !== 0 || !existsSync(join(BINFMT_DIR, 'register'))) {
    throw new BinfmtError(
      `cannot mount binfmt_misc at ${BINFMT_DIR}: ${r.error?.message ?? r.stderr.trim()}`,
    );
  }
  return true;
}

/**
 * Registers QEMU's handler for the Debian arch `arch` from its binfmt.d file (qemu-user-static),
 * with the F flag forced; mounts binfmt_misc first when needed. Returns the handler's name.
 */
export async function registerQemuBinfmt(arch: string): Promise<string> {
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
    throw new BinfmtError(
      `cannot register ${name}: ${conf} is missing or unreadable (apt-get install qemu-user-static)`,
    );
  }
  const interpreter = fields[6]!;
  if (!existsSync(interpreter)) {
    throw new BinfmtError(
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
