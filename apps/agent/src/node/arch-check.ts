/**
 * Start-up check: an agent for AGENT_ARCH must be able to execute that arch — natively, or (arm64
 * on an amd64 host) through a QEMU binfmt_misc handler with the F flag that runs a probe ELF
 * directly and inside bubblewrap, as every job of this node will. Otherwise the agent refuses to
 * start (no registration, no jobs), naming what is missing. The check is shared with the worker
 * (@joblet/sandbox, arch-support.ts); this module words it for the agent.
 *
 * With AGENT_REGISTER_BINFMT=true (and root) the agent registers QEMU's handler itself and
 * unregisters exactly that at shutdown.
 */
import type { Logger } from '@joblet/logging';
import { ensureArchSupport, qemuBinfmtName, type ArchSupport } from '@joblet/sandbox';
import type { AgentConfig } from '../env.js';

/**
 * Checks (and with `config.registerBinfmt` arranges) that this host executes the agent's arch.
 * The probe binary is written under `config.workDir` (which must exist and allow exec).
 * @throws ArchUnsupportedError naming what is missing.
 */
export async function ensureAgentArch(
  config: Pick<AgentConfig, 'arch' | 'registerBinfmt' | 'workDir'>,
  log: Logger,
): Promise<ArchSupport> {
  const support = await ensureArchSupport({
    arch: config.arch,
    registerBinfmt: config.registerBinfmt ?? false,
    probeDir: config.workDir,
    log,
    daemon: {
      role: 'agent',
      archVariable: 'AGENT_ARCH',
      registerVariable: 'AGENT_REGISTER_BINFMT',
      purpose: `run ${config.arch} jobs`,
    },
  });
  if (!support.native) {
    log.info(
      { handler: qemuBinfmtName(config.arch), registered: support.registered },
      'executing a foreign arch through QEMU binfmt_misc',
    );
  }
  return support;
}
