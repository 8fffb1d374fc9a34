/**
 * `rnx farm up --arch amd64,arm64`: the architectures the single-machine farm builds for and runs
 * jobs on. Each gets a worker (a build pool) and a node; an arch the host cannot run natively runs
 * under QEMU user emulation through the kernel's binfmt_misc handler (qemu-user-static). The
 * supervisor registers that handler when it is missing and it may (root, the package installed),
 * and removes exactly what it registered when it stops; otherwise `farm up` refuses, naming what
 * is missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  BINFMT_CONF_DIR,
  binfmtHandler,
  isRoot,
  qemuBinfmtName,
  registerQemuBinfmt,
  unregisterBinfmt,
} from '@joblet/sandbox';
import { ARCHITECTURES, type Arch } from '@joblet/spec';
import { UsageError } from '../errors.js';

/**
 * The arches of `--arch` (comma-separated), the host's first, without repeats.
 * @throws UsageError naming an unknown arch, or a list without the host's arch (its worker
 *   publishes and its node is the machine's own).
 */
export function parseFarmArches(value: string, host: Arch): Arch[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(ARCHITECTURES as readonly string[]).includes(n))
      throw new UsageError(`--arch "${n}": not an architecture (${ARCHITECTURES.join(', ')})`);
  }
  const arches = [...new Set(names as Arch[])];
  if (!arches.includes(host))
    throw new UsageError(
      `--arch ${value}: the list must include this host's ${host} (its worker signs and ` +
        `publishes, its node is this machine's own): --arch ${[host, ...arches].join(',')}`,
    );
  return [host, ...arches.filter((a) => a !== host)];
}

/** How a foreign arch will run: its handler is there, or the supervisor will register it. */
export type ForeignArchPlan = 'registered' | 'register';

/**
 * Whether this host can run `arch` under QEMU for the farm.
 * @throws UsageError naming what is missing (the package, root).
 */
export function planForeignArch(arch: Arch): ForeignArchPlan {
  const name = qemuBinfmtName(arch);
  const handler = binfmtHandler(name);
  if (handler?.enabled && handler.flags.includes('F')) return 'registered';
  if (handler)
    throw new UsageError(
      `--arch ${arch}: the QEMU handler /proc/sys/fs/binfmt_misc/${name} is ` +
        `${handler.enabled ? `registered without the F flag (flags "${handler.flags}")` : 'disabled'}` +
        `; sandboxes need F (the interpreter opened at registration): remove it ` +
        `(echo -1 > /proc/sys/fs/binfmt_misc/${name}) and rnx farm up registers it`,
    );
  const conf = join(BINFMT_CONF_DIR, `${name}.conf`);
  if (!existsSync(conf))
    throw new UsageError(
      `--arch ${arch}: this host runs ${arch} only under QEMU user emulation, and ${conf} is ` +
        `missing: apt-get install qemu-user-static binfmt-support`,
    );
  if (!isRoot())
    throw new UsageError(
      `--arch ${arch}: the QEMU handler ${name} is not registered with the F flag ` +
        `(/proc/sys/fs/binfmt_misc/${name}) and only root may register it: run rnx farm up as ` +
        `root, or register it first (update-binfmts --enable ${name})`,
    );
  return 'register';
}

/**
 * Registers the handlers of the foreign `arches` that are missing; returns a function that
 * removes exactly those again.
 */
export async function registerForeignArches(arches: Arch[]): Promise<() => Promise<void>> {
  const mine: string[] = [];
  for (const arch of arches) {
    if (planForeignArch(arch) === 'register') mine.push(await registerQemuBinfmt(arch));
  }
  return async () => {
    for (const name of mine) await unregisterBinfmt(name);
  };
}

/** Where the node of a foreign arch keeps its runtimes, job dirs and volumes: under the farm. */
export function foreignNodeDirs(farmDir: string, arch: Arch) {
  const base = join(farmDir, 'nodes', arch);
  return {
    runtimes: join(base, 'runtimes'),
    jobs: join(base, 'jobs'),
    volumes: join(base, 'volumes'),
  };
}
