/**
 * What `/ui` shows, assembled in one answer and shared by every viewer of this replica for a
 * second; the runtime list (a listing of the store's index) for five. A dashboard left open in
 * ten browsers thus costs the farm one read per second, not ten.
 */
import type { DashboardResponse } from '@joblet/spec';
import { poolViews } from '../routes/pools.js';
import { cached } from './cached.js';
import type { Services } from './services.js';

/** Rows of builds and jobs shown (newest first). */
export const DASHBOARD_ROWS = 25;

export function dashboardView(s: Services): () => Promise<DashboardResponse> {
  const runtimes = cached(5_000, () => s.runtimes.list());
  return cached(1_000, async () => {
    const [r, builds, jobs, nodes, pools] = await Promise.all([
      runtimes(),
      s.buildStore.list(DASHBOARD_ROWS, 0),
      s.jobs.list(DASHBOARD_ROWS, 0),
      s.nodes.list(),
      poolViews(s),
    ]);
    return { generatedAt: new Date().toISOString(), runtimes: r, builds, jobs, nodes, pools };
  });
}
