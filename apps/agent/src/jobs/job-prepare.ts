// The steps that make a job runnable besides its directory: the runtime installed (on demand)
// and leased for the job's whole life, and the job's cgroup with its limits. Each failure is a
// JobFailure with the reason the record gets (runtime-missing, start-failed).
import type { Logger } from '@joblet/logging';
import { SandboxError, type Cgroup } from '@joblet/sandbox';
import type { JobRecord } from '@joblet/spec';
import { AgentError, AgentErrorCode } from '../errors.js';
import { isRuntimeId } from '../runtimes/layout.js';
import type { ConvergeResult } from '../runtimes/runtime-sync.service.js';
import type { JobContext } from './job-context.js';
import { JobFailure } from './job-errors.js';
import { asksForLimits, cgroupLimitsFor } from './limits.js';

/** A short, friendly description of why an install did not happen. */
function describeConverge(r: ConvergeResult | undefined): string {
  switch (r?.kind) {
    case 'failed':
      return `install failed: ${r.failure.message}`;
    case 'error':
      return r.message;
    case 'skipped':
      return r.reason;
    case 'absent':
    case 'removed':
      return 'it is not in the index for this architecture';
    case 'deferred':
      return 'it is being removed';
    default:
      return 'no install was attempted';
  }
}

/** The runtime installed (now, if missing) and leased for the whole job; returns the release. */
export async function leaseRuntime(
  ctx: JobContext,
  record: JobRecord,
  log: Logger,
): Promise<() => Promise<void>> {
  const { name, version } = record.runtime;
  const what = `${name}@${version}`;
  if (!isRuntimeId(name, version)) {
    throw new JobFailure(`invalid runtime ${JSON.stringify(what)}`, 'runtime-missing');
  }
  const { runtimes, node } = ctx;
  if (!(await runtimes.layout.isInstalled(name, version))) {
    log.info({ runtime: what }, 'runtime not installed here; installing it now');
    await runtimes.converge(name, version);
  }
  try {
    return await ctx.leases.acquire(name, version);
  } catch (err) {
    if (
      err instanceof AgentError &&
      (err.code === AgentErrorCode.RuntimeNotInstalled ||
        err.code === AgentErrorCode.RuntimeRemoving)
    ) {
      const why =
        err.code === AgentErrorCode.RuntimeRemoving
          ? 'it is being removed from this node'
          : describeConverge(runtimes.lastResult(name, version));
      throw new JobFailure(
        `runtime ${what} is not installed on node ${node} and could not be installed: ${why}`,
        'runtime-missing',
      );
    }
    throw err;
  }
}

/** The job's cgroup; a limit this host cannot enforce fails the job (never ignored). */
export async function createJobCgroup(
  ctx: JobContext,
  record: JobRecord,
  jobId: string,
  workDir?: string,
): Promise<Cgroup | undefined> {
  const { cgroups } = ctx;
  if (!cgroups) {
    if (asksForLimits(record.limits)) {
      throw new JobFailure(
        `resource limits cannot be enforced on node ${ctx.node}: ${ctx.cgroupsMissing ?? 'no cgroups'}`,
        'start-failed',
      );
    }
    return undefined;
  }
  const limits = await cgroupLimitsFor(record.limits, {
    ioPath: ctx.workRoot,
    ...(workDir !== undefined && { workDir }),
    defaultPidsMax: ctx.defaultPidsMax,
  });
  try {
    return await cgroups.create(`job-${jobId}`, limits);
  } catch (err) {
    if (err instanceof SandboxError) throw new JobFailure(err.message, 'start-failed');
    throw err;
  }
}
