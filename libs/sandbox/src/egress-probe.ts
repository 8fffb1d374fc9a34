/**
 * Start-up check for egress sandboxes: a daemon configured to give its sandboxes egress-only
 * networking (egress.ts) must not find out at the first build or job that slirp4netns is missing
 * or refused here. The probe starts one real egress sandbox running `/bin/true`, so it also
 * catches a slirp4netns that cannot join the namespace or whose seccomp filter the kernel
 * rejects, and names what to do.
 */
import type { EgressOptions } from './egress.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { hasCommand } from './host-probe.js';
import { runInSandbox } from './launcher.js';
import type { IdRange } from './userns.js';

export interface EgressProbeOptions extends EgressOptions {
  /** Default `bwrap` from PATH. */
  bwrapPath?: string;
  /** uid inside the probe sandbox: 0 as builds run, 65534 (default) as jobs run. */
  uid?: number;
  /** Rootless, as builds run: root of a namespace mapping these host ids (userns.ts). */
  subids?: IdRange;
}

/**
 * Resolves when an egress sandbox starts on this host.
 * @throws SandboxError `SANDBOX_NETWORK_FAILED` saying what is missing or failing.
 */
export async function probeEgress(o: EgressProbeOptions = {}): Promise<void> {
  const slirp = o.slirpPath ?? 'slirp4netns';
  if (!hasCommand(slirp, ['--version'])) {
    throw new SandboxError(
      `${slirp} is not installed (or not on PATH): it gives sandboxes egress-only networking. ` +
        'Install it with: apt-get install slirp4netns',
      SandboxErrorCode.NetworkFailed,
    );
  }
  const r = await runInSandbox(
    {
      rootfs: '/',
      network: 'egress',
      uid: o.uid ?? 65534,
      hostname: 'egress-probe',
      ...(o.subids && { subids: o.subids, uid: 0 }),
    },
    '/bin/true',
    [],
    {
      ...(o.bwrapPath !== undefined && { bwrapPath: o.bwrapPath }),
      egress: { ...o, label: o.label ?? 'egress-probe' },
      timeoutMs: 30_000,
    },
  ).catch((err: unknown) => {
    if (err instanceof SandboxError) throw err;
    throw new SandboxError(
      `an egress sandbox could not be started: ${(err as Error).message}`,
      SandboxErrorCode.NetworkFailed,
      { cause: err },
    );
  });
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').slice(-3).join('; ') || `exit code ${r.code}`;
    throw new SandboxError(
      `an egress sandbox (bwrap with slirp4netns) failed on this host: ${why}`,
      SandboxErrorCode.NetworkFailed,
    );
  }
}
