/**
 * What each build worker reports about itself besides consuming its queue: its arch and the free
 * space of its cache and work disks. Workers serve no `/metrics` of their own, so they write this
 * to one Redis hash every few seconds and the API turns it into `joblet_worker_disk_free_bytes`.
 * An entry not rewritten for {@link WORKER_STATUS_MAX_AGE_MS} belongs to a worker that is gone: the
 * reader drops it, so the hash holds only live workers however many come and go.
 */
import type { RedisClient } from './connection.js';
import type { Keys } from './names.js';

/** The disks a worker reports: where its caches and its builds' work dirs live. */
export const WORKER_DISKS = ['cache', 'work'] as const;
export type WorkerDisk = (typeof WORKER_DISKS)[number];

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface WorkerStatus {
  name: string;
  arch: string;
  /** ISO time of the report. */
  updatedAt: string;
  disks: Record<WorkerDisk, DiskSpace>;
}

/** How often a worker reports, and after how long without a report it counts as gone. */
export const WORKER_STATUS_INTERVAL_MS = 15_000;
export const WORKER_STATUS_MAX_AGE_MS = 4 * WORKER_STATUS_INTERVAL_MS;

export async function reportWorkerStatus(
  redis: RedisClient,
  keys: Keys,
  status: WorkerStatus,
): Promise<void> {
  await redis.hset(keys.workers, status.name, JSON.stringify(status));
}

export async function removeWorkerStatus(
  redis: RedisClient,
  keys: Keys,
  name: string,
): Promise<void> {
  await redis.hdel(keys.workers, name);
}

/** Live workers' reports; stale and unreadable entries are deleted on the way. */
export async function listWorkerStatuses(
  redis: RedisClient,
  keys: Keys,
  now = Date.now(),
): Promise<WorkerStatus[]> {
  const all = await redis.hgetall(keys.workers);
  const live: WorkerStatus[] = [];
  const stale: string[] = [];
  for (const [name, raw] of Object.entries(all)) {
    const s = parseStatus(raw);
    if (s && now - Date.parse(s.updatedAt) <= WORKER_STATUS_MAX_AGE_MS) live.push(s);
    else stale.push(name);
  }
  if (stale.length > 0) await redis.hdel(keys.workers, ...stale);
  return live.sort((a, b) => a.name.localeCompare(b.name));
}

function parseStatus(raw: string): WorkerStatus | undefined {
  try {
    const s = JSON.parse(raw) as Partial<WorkerStatus>;
    const ok =
      typeof s.name === 'string' &&
      typeof s.arch === 'string' &&
      typeof s.updatedAt === 'string' &&
      WORKER_DISKS.every((d) => typeof s.disks?.[d]?.freeBytes === 'number');
    return ok ? (s as WorkerStatus) : undefined;
  } catch {
    return undefined;
  }
}
