/**
 * `GET /metrics` (reader): Prometheus text of this process (request latency, Node) followed by the
 * farm's (queues, nodes, artifacts from their sources; counters and histograms kept in Redis by
 * every process). Farm series are the same on every replica: aggregate them with max(), not sum().
 * When Redis does not answer, the scrape still succeeds with `joblet_redis_up 0` and without them.
 */
import type { FastifyPluginAsync } from 'fastify';
import { renderRedisMetrics } from '@joblet/queue';
import { registerFarmGauges } from '../../metrics/farm-gauges.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const redisUp = registerFarmGauges(app.metrics, app);
  app.get('/metrics', { config: { role: 'reader' } }, async (_request, reply) => {
    // With Redis down the scrape still answers: this process's series and joblet_redis_up 0.
    const [local, farm] = await Promise.all([
      app.metrics.metrics(),
      redisUp().then((up) => (up ? renderRedisMetrics(app.redis, app.keys) : '')),
    ]);
    return reply.type(app.metrics.contentType).send(`${local.trimEnd()}\n${farm}`);
  });
};
export default route;
