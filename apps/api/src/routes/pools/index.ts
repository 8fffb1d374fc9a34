/**
 * `GET /v1/pools`: backlog per architecture (waiting, active, workers, age of the oldest waiting
 * build) — what a KEDA ScaledObject scales a worker Deployment on.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ListPoolsResponse, type PoolView } from '@joblet/spec';
import type { Services } from '../services/services.js';

export async function poolViews(s: Services): Promise<PoolView[]> {
  const now = Date.now();
  const out: PoolView[] = [];
  for (const [arch, q] of s.buildQueues) {
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

const route =
  (s: Services): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await
  async (app) => {
    app
      .withTypeProvider<ZodTypeProvider>()
      .get(
        '/v1/pools',
        { config: { role: 'reader' }, schema: { response: { 200: ListPoolsResponse } } },
        async () => ({ pools: await poolViews(s) }),
      );
  };
export default route;
