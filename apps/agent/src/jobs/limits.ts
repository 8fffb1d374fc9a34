// A job's limits (JobLimits, what `rnx job run --max-memory ...` sends) as cgroup limits. Every
// limit asked for is enforced or the job is refused with the reason; nothing is dropped quietly.
import { statfs } from 'node:fs/promises';
import { blockDeviceOf, type CgroupLimits } from '@joblet/sandbox';
import type { JobLimits } from '@joblet/spec';
import { JobFailure } from './job-errors.js';

const MiB = 1024 * 1024;

/** Tasks a job may have when it does not say (a fork bomb stops here). */
export const DEFAULT_JOB_PIDS_MAX = 4096;

/**
 * What a job without a CPU limit reserves on its node (100 = one core): most jobs wait on I/O
 * or end in milliseconds, so twenty share two cores. A job that needs a core asks for it.
 */
export const DEFAULT_JOB_CPU_PERCENT = 10;

/** What a job without a memory limit reserves on its node, in MB. */
export const DEFAULT_JOB_MEMORY_MB = 64;

export interface CgroupLimitOptions {
  /** Tasks when the job sets no maxProcesses. */
  defaultPidsMax?: number;
  /** Directory whose disk `maxIoBps` applies to (the job's /work lives there). */
  ioPath: string;
  /** The job's /work when it is a filesystem of its own (a loop device): throttled too. */
  workDir?: string;
}

/** True when the job asks for any limit a cgroup must enforce (besides the default pids cap). */
export function asksForLimits(l: JobLimits): boolean {
  return (
    l.maxMemoryMB !== undefined ||
    l.maxCpuPercent !== undefined ||
    l.cpuCores !== undefined ||
    l.maxIoBps !== undefined ||
    l.maxProcesses !== undefined
  );
}

/**
 * The cgroup limits of a job: memory (MB → bytes), CPU percent, cpuset, tasks, and `maxIoBps` as
 * read and write bandwidth on the disk holding `ioPath`. Throws a start-failed JobFailure when
 * that path has no block device (tmpfs, overlay), where an io limit cannot be enforced.
 */
export async function cgroupLimitsFor(l: JobLimits, o: CgroupLimitOptions): Promise<CgroupLimits> {
  const out: CgroupLimits = { pidsMax: l.maxProcesses ?? o.defaultPidsMax ?? DEFAULT_JOB_PIDS_MAX };
  if (l.maxMemoryMB !== undefined) out.memoryBytes = l.maxMemoryMB * MiB;
  if (l.maxCpuPercent !== undefined) out.cpuPercent = l.maxCpuPercent;
  if (l.cpuCores !== undefined) out.cpus = l.cpuCores;
  if (l.maxIoBps !== undefined) {
    const device = await blockDeviceOf(o.ioPath).catch(() => undefined);
    if (device === undefined) {
      throw new JobFailure(
        `io limit: the job directory ${o.ioPath} is on a filesystem without a block device ` +
          '(tmpfs, overlay, network); maxIoBps cannot be enforced on this node',
        'start-failed',
      );
    }
    const devices = [device];
    const own = o.workDir && (await blockDeviceOf(o.workDir).catch(() => undefined));
    if (own && own !== device) devices.push(own);
    out.ioBps = devices.map((d) => ({ device: d, readBps: l.maxIoBps!, writeBps: l.maxIoBps! }));
  }
  return out;
}

/** `--max-memory` as people say it, for messages. */
export function describeMemory(l: JobLimits): string {
  return l.maxMemoryMB !== undefined ? `${l.maxMemoryMB} MB` : 'the node';
}

/** `/work`'s size as people say it, for messages. */
export function describeDisk(d: { diskBytes?: number }): string {
  return d.diskBytes !== undefined
    ? `${Math.round(d.diskBytes / (1024 * 1024))} MB: --max-disk, or the node's AGENT_JOB_DISK_MB`
    : 'the node disk';
}

/** True when the job's own /work filesystem has no block left (its writes failed ENOSPC). */
export async function workDiskFull(d: { work: string; diskBytes?: number }): Promise<boolean> {
  if (d.diskBytes === undefined) return false;
  const s = await statfs(d.work).catch(() => undefined);
  // Some blocks stay free (ext4 keeps them for metadata): under 2 % or 1 MiB counts as full.
  return s !== undefined && s.bavail * s.bsize < Math.max(1024 * 1024, d.diskBytes / 50);
}
