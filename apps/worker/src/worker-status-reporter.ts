/**
 * Reports this worker's arch and the free space of its cache and work disks to Redis every
 * {@link WORKER_STATUS_INTERVAL_MS} (the API shows it as `joblet_worker_disk_free_bytes`, the
 * alert rules warn before a build fails on a full disk). A failed report is logged and retried at
 * the next tick: it never stops a build. Closing removes this worker's entry at once.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from '@joblet/logging';
import {
  WORKER_STATUS_INTERVAL_MS,
  removeWorkerStatus,
  reportWorkerStatus,
  type DiskSpace,
  type Keys,
  type RedisClient,
} from '@joblet/queue';

export interface WorkerStatusSource {
  name: string;
  arch: string;
  cacheDir: string;
  workDir: string;
}

async function space(path: string): Promise<DiskSpace> {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

export class WorkerStatusReporter {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly source: WorkerStatusSource,
    private readonly log: Logger,
    private readonly intervalMs = WORKER_STATUS_INTERVAL_MS,
  ) {}

  /** Reports once now, then on every interval. */
  async start(): Promise<void> {
    await this.report();
    this.timer = setInterval(() => void this.report(), this.intervalMs);
    this.timer.unref();
  }

  async report(): Promise<void> {
    try {
      const [cache, work] = await Promise.all([
        space(this.source.cacheDir),
        space(this.source.workDir),
      ]);
      await reportWorkerStatus(this.redis, this.keys, {
        name: this.source.name,
        arch: this.source.arch,
        updatedAt: new Date().toISOString(),
        disks: { cache, work },
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot report the worker status');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await removeWorkerStatus(this.redis, this.keys, this.source.name).catch(() => undefined);
  }
}
