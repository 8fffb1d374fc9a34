/**
 * Start-up check: a worker for WORKER_ARCH must be able to execute that arch (natively, or through
 * a QEMU binfmt_misc handler with the F flag that runs a probe ELF directly and inside bubblewrap),
 * else it refuses to start, naming what is missing. The check itself is shared with the agent and
 * lives in @joblet/sandbox (arch-support.ts); this module words it for the worker.
 *
 * With WORKER_REGISTER_BINFMT=true (and root) the worker registers QEMU's handler itself and
 * unregisters exactly that at shutdown.
 */
import type { Logger } from '@joblet/logging';
import { ensureArchSupport as ensureArch, type ArchSupport } from '@joblet/sandbox';
import type { Arch } from '@joblet/spec';

export { ArchUnsupportedError, type ArchSupport } from '@joblet/sandbox';

export interface WorkerArchCheckOptions {
  arch: Arch;
  /** WORKER_REGISTER_BINFMT. */
  registerBinfmt: boolean;
  /** Where the probe binary is written (must allow exec); removed again. */
  probeDir: string;
  log?: Logger;
}

/**
 * Checks (and with `registerBinfmt` arranges) that this host executes the worker's arch.
 * @throws ArchUnsupportedError naming what is missing.
 */
export function ensureArchSupport(o: WorkerArchCheckOptions): Promise<ArchSupport> {
  return ensureArch({
    ...o,
    daemon: {
      role: 'worker',
      archVariable: 'WORKER_ARCH',
      registerVariable: 'WORKER_REGISTER_BINFMT',
      purpose: `build ${o.arch}`,
    },
  });
}
