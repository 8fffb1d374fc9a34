/** `GET /v1/nodes`: every registered node, online or not, with its runtimes. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ListNodesResponse } from '@joblet/spec';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/v1/nodes',
      { config: { role: 'reader' }, schema: { response: { 200: ListNodesResponse } } },
      async () => ({ nodes: await app.nodes.list() }),
    );
};
export default route;
