/**
 * What `/ui` shows, assembled in one answer and shared by every viewer of this replica for a
 * second; the runtime list (a listing of the store's index) for five. A dashboard left open in
 * ten browsers thus costs the farm one read per second, not ten.
 */
import type { Queue } from 'bullmq';
import type { Arch, DashboardResponse } from '@joblet/spec';
import type { BuildStore } from '@joblet/queue';
import { cached } from './cached.js';
import type { JobService } from './job-service.js';
import type { NodeService } from './node-service.js';
import { poolViews } from './pools.js';
import type { RuntimeService } from './runtime-service.js';

/** Rows of builds and jobs shown (newest first). */
export const DASHBOARD_ROWS = 25;

/** Where the dashboard's figures come from. */
export interface DashboardDeps {
  runtimes: Pick<RuntimeService, 'list'>;
  buildStore: Pick<BuildStore, 'list'>;
  jobs: Pick<JobService, 'list'>;
  nodes: Pick<NodeService, 'list'>;
  buildQueues: ReadonlyMap<Arch, Queue>;
}

export function dashboardView(s: DashboardDeps): () => Promise<DashboardResponse> {
  const runtimes = cached(5_000, () => s.runtimes.list());
  return cached(1_000, async () => {
    const [r, builds, jobs, nodes, pools] = await Promise.all([
      runtimes(),
      s.buildStore.list(DASHBOARD_ROWS, 0),
      s.jobs.list(DASHBOARD_ROWS, 0),
      s.nodes.list(),
      poolViews(s.buildQueues),
    ]);
    return { generatedAt: new Date().toISOString(), runtimes: r, builds, jobs, nodes, pools };
  });
}
