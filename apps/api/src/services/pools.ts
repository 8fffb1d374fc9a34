/**
 * Backlog per architecture (waiting, active, workers, age of the oldest waiting build), read from
 * the `build-<arch>` queues: what `/v1/pools`, the dashboard and the queue gauges show, and what
 * a KEDA ScaledObject scales a worker Deployment on.
 */
import type { Queue } from 'bullmq';
import type { Arch, PoolView } from '@joblet/spec';

export async function poolViews(buildQueues: ReadonlyMap<Arch, Queue>): Promise<PoolView[]> {
  const now = Date.now();
  const out: PoolView[] = [];
  for (const [arch, q] of buildQueues) {
    const [counts, workers, oldest] = await Promise.all([
      q.getJobCounts('waiting', 'prioritized', 'active'),
      q.getWorkersCount(),
      q.getJobs(['wait', 'prioritized'], 0, 0, true),
    ]);
    const first = oldest[0];
    const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    const active = counts.active ?? 0;
    out.push({
      arch,
      waiting,
      active,
      backlog: waiting + active,
      workers,
      oldestWaitingAgeS: first ? Math.max(0, (now - first.timestamp) / 1000) : 0,
    });
  }
  return out;
}
