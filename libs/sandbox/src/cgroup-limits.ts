// Validation of resource limits before anything is created: a limit the host cannot enforce is
// refused (LIMIT_UNSUPPORTED, naming the limit and why), a limit out of range is refused
// (LIMIT_INVALID) — never silently ignored or clamped.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatCpuList, isDeviceNumber, parseCpuList } from './cgroup-format.js';
import type { CgroupBackend, CgroupLimits, CgroupSupport } from './cgroup-types.js';
import { SandboxError, SandboxErrorCode } from './errors.js';

/** The smallest memory limit accepted, in bytes: below 4 MiB not even a shell starts. */
export const MIN_MEMORY_BYTES = 4 * 1024 * 1024;

/** The kernel's ceiling for pids.max (PID_MAX_LIMIT on 64-bit). */
const MAX_PIDS = 4 * 1024 * 1024;

/** Each limit field, the support flag it needs and its name in messages. */
const LIMITS: { field: keyof CgroupLimits; needs: keyof CgroupSupport; label: string }[] = [
  { field: 'memoryBytes', needs: 'memory', label: 'memory limit' },
  { field: 'cpuPercent', needs: 'cpu', label: 'cpu limit' },
  { field: 'cpus', needs: 'cpuset', label: 'cpus limit' },
  { field: 'pidsMax', needs: 'pids', label: 'pids limit' },
  { field: 'ioBps', needs: 'io', label: 'io limit' },
];

function invalid(message: string): SandboxError {
  return new SandboxError(message, SandboxErrorCode.LimitInvalid);
}

function wholeNumber(v: number, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return Number.isSafeInteger(v) && v >= min && v <= max;
}

/**
 * Throws a {@link SandboxError} unless every limit in `limits` can be enforced here and is in
 * range. `sysBlockDir` is /sys/dev/block (a parameter for tests).
 */
export function checkLimits(
  limits: CgroupLimits,
  backend: Pick<CgroupBackend, 'support' | 'unsupportedReason' | 'allowedCpus'>,
  sysBlockDir = '/sys/dev/block',
): void {
  for (const { field, needs, label } of LIMITS) {
    if (limits[field] === undefined) continue;
    if (field === 'ioBps' && limits.ioBps?.length === 0) continue; // nothing asked
    if (!backend.support[needs]) {
      throw new SandboxError(
        `${label}: ${backend.unsupportedReason(needs)}`,
        SandboxErrorCode.LimitUnsupported,
      );
    }
  }
  const { memoryBytes, cpuPercent, cpus, pidsMax, ioBps } = limits;
  if (memoryBytes !== undefined) {
    if (!wholeNumber(memoryBytes, 0)) {
      throw invalid(`memory limit must be a whole number of bytes, got ${memoryBytes}`);
    }
    if (memoryBytes < MIN_MEMORY_BYTES) {
      throw invalid(`memory limit: ${memoryBytes} bytes is below the minimum of 4 MiB`);
    }
  }
  const allowed = backend.allowedCpus;
  if (cpuPercent !== undefined) {
    const max = 100 * allowed.length;
    if (!Number.isFinite(cpuPercent) || cpuPercent < 1 || cpuPercent > max) {
      throw invalid(
        `cpu limit must be between 1 and ${max} percent (${allowed.length} CPUs), got ${cpuPercent}`,
      );
    }
  }
  if (cpus !== undefined) checkCpus(cpus, allowed);
  if (pidsMax !== undefined && !wholeNumber(pidsMax, 1, MAX_PIDS)) {
    throw invalid(`pids limit must be a whole number from 1 to ${MAX_PIDS}, got ${pidsMax}`);
  }
  const seen = new Set<string>();
  for (const io of ioBps ?? []) {
    checkIo(io, sysBlockDir);
    if (seen.has(io.device)) throw invalid(`io limit: device ${io.device} is listed twice`);
    seen.add(io.device);
  }
}

function checkCpus(cpus: string, allowed: readonly number[]): void {
  const list = parseCpuList(cpus);
  if (list === undefined || list.length === 0) {
    throw invalid(`cpus limit: '${cpus}' is not a CPU list like '0-3' or '1,3'`);
  }
  const missing = list.filter((c) => !allowed.includes(c));
  if (missing.length > 0) {
    throw invalid(
      `cpus limit: CPU ${formatCpuList(missing)} of '${cpus}' is not online for this process ` +
        `(available: ${formatCpuList(allowed)})`,
    );
  }
}

function checkIo(
  io: { device: string; readBps?: number; writeBps?: number },
  sysBlockDir: string,
): void {
  if (!isDeviceNumber(io.device)) {
    throw invalid(`io limit: device '${io.device}' is not a block device number like '8:0'`);
  }
  if (io.readBps === undefined && io.writeBps === undefined) {
    throw invalid(`io limit for ${io.device} sets neither readBps nor writeBps`);
  }
  for (const [k, v] of [
    ['readBps', io.readBps],
    ['writeBps', io.writeBps],
  ] as const) {
    if (v !== undefined && !wholeNumber(v, 1)) {
      throw invalid(
        `io limit ${k} for ${io.device} must be a whole number of bytes/s ≥ 1, got ${v}`,
      );
    }
  }
  const sys = join(sysBlockDir, io.device);
  if (!existsSync(sys)) throw invalid(`io limit: no block device ${io.device} on this host`);
  // The kernel accepts throttling rules only for whole disks (ENODEV for a partition).
  if (existsSync(join(sys, 'partition'))) {
    throw invalid(`io limit: ${io.device} is a partition; limit its disk (see blockDeviceOf)`);
  }
}
