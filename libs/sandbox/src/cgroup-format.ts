// The text formats of cgroup interface files, as pure functions: the exact strings written to
// v1 and v2 files, and parsers for what the kernel reports. Pure so they can be unit-tested on a
// host that has only one of the two cgroup versions.

/** CFS period in microseconds for CPU limits: 100 ms, the kernel's default. */
export const CPU_PERIOD_US = 100_000;

/** The kernel refuses a CFS quota below 1 ms (microseconds). */
export const MIN_CPU_QUOTA_US = 1_000;

/** CFS quota in microseconds per {@link CPU_PERIOD_US} for `percent` of one core. */
export function cpuQuotaUs(percent: number, periodUs = CPU_PERIOD_US): number {
  return Math.max(MIN_CPU_QUOTA_US, Math.round((percent / 100) * periodUs));
}

/** v2 `cpu.max` content: `"$QUOTA $PERIOD"` in microseconds, e.g. `"50000 100000"` for 50 %. */
export function formatCpuMax(percent: number, periodUs = CPU_PERIOD_US): string {
  return `${cpuQuotaUs(percent, periodUs)} ${periodUs}`;
}

// CPU lists (`0-3,5`) are parsed and formatted by @joblet/spec: the API reads them too.
export { formatCpuList, parseCpuList } from '@joblet/spec';

/**
 * v2 `io.max` line for one device: `"MAJ:MIN rbps=N wbps=N"` (bytes per second; `max` = no
 * limit). The kernel takes one device per write(2), so each line is written separately.
 */
export function formatIoMax(device: string, readBps?: number, writeBps?: number): string {
  return `${device} rbps=${readBps ?? 'max'} wbps=${writeBps ?? 'max'}`;
}

/**
 * v1 `blkio.throttle.{read,write}_bps_device` lines (`"MAJ:MIN BYTES_PER_S"`), one write each;
 * a device without a read (or write) limit gets no line in that file.
 */
export function formatBlkioThrottle(
  limits: readonly { device: string; readBps?: number; writeBps?: number }[],
): { read: string[]; write: string[] } {
  return {
    read: limits.filter((l) => l.readBps !== undefined).map((l) => `${l.device} ${l.readBps}`),
    write: limits.filter((l) => l.writeBps !== undefined).map((l) => `${l.device} ${l.writeBps}`),
  };
}

/**
 * Parses flat keyed files, `"key value"` per line: v2 `memory.events`, `cpu.stat`,
 * `pids.events`; v1 `memory.oom_control`, `memory.stat`. Non-numeric values are skipped.
 */
export function parseKeyedFile(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(-?\d+)\s*$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Parses a single-number file (`memory.peak`, `cpuacct.usage`); undefined for `max` or junk. */
export function parseNumberFile(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** Parses `cgroup.procs`: one pid per line. */
export function parseProcs(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/** True for a `'MAJ:MIN'` device number. */
export function isDeviceNumber(s: string): boolean {
  return /^\d{1,10}:\d{1,10}$/.test(s);
}

/**
 * Major and minor numbers of a Linux `dev_t` as Node reports it in `Stats.dev` (glibc
 * encoding: minor bits 0–7 and 20–39, major bits 8–19 and 40–51).
 */
export function splitDev(dev: number): { major: number; minor: number } {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return { major, minor };
}
