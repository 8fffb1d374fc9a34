/**
 * `GET /v1/pools`: backlog per architecture (waiting, active, workers, age of the oldest waiting
 * build) — what a KEDA ScaledObject scales a worker Deployment on.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ListPoolsResponse } from '@joblet/spec';
import { poolViews } from '../../services/pools.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/v1/pools',
      { config: { role: 'reader' }, schema: { response: { 200: ListPoolsResponse } } },
      async () => ({ pools: await poolViews(app.buildQueues) }),
    );
};
export default route;
