/** Free and total bytes of the filesystem holding RUNTIMES_DIR, and the install margin check. */
import { statfs } from 'node:fs/promises';

export interface DiskUsage {
  /** Bytes available to unprivileged writers (f_bavail · f_bsize). */
  freeBytes: number;
  totalBytes: number;
}

export async function diskUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

const MiB = 1024 * 1024;
const mb = (bytes: number): number => Math.round(bytes / MiB);

/**
 * Why installing `needBytes` would leave less than `marginBytes` free, or undefined when it fits.
 * E.g. "not enough disk in /opt/joblet/runtimes: the runtime needs 212 MB, 180 MB free would be
 * left, margin 1024 MB" (MB = MiB, as AGENT_MIN_FREE_MB counts).
 */
export function diskShortfall(
  dir: string,
  usage: DiskUsage,
  needBytes: number,
  marginBytes: number,
): string | undefined {
  const left = usage.freeBytes - needBytes;
  if (left >= marginBytes) return undefined;
  const leftText =
    left >= 0 ? `${mb(left)} MB free would be left` : `only ${mb(usage.freeBytes)} MB are free`;
  return (
    `not enough disk in ${dir}: the runtime needs ${mb(needBytes)} MB, ${leftText}, ` +
    `margin ${mb(marginBytes)} MB (AGENT_MIN_FREE_MB)`
  );
}
