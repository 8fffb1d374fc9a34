/** `DELETE /v1/runtimes/:ref` (admin) and `POST /v1/runtimes/:ref/test` (developer). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  RemoveRuntimeResponse,
  RuntimeRefParams,
  RuntimeTestRequest,
  RuntimeTestResponse,
} from '@joblet/spec';
import { testRuntime } from '../../services/runtime-test.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.delete(
    '/v1/runtimes/:ref',
    {
      config: { role: 'admin' },
      schema: { params: RuntimeRefParams, response: { 200: RemoveRuntimeResponse } },
    },
    async (request) => {
      const removed = await app.runtimes.remove(request.params.ref);
      for (const r of removed)
        request.log.info({ runtime: `${r.name}@${r.version}` }, 'runtime removed');
      return { removed };
    },
  );
  r.post(
    '/v1/runtimes/:ref/test',
    {
      config: { role: 'developer' },
      schema: {
        params: RuntimeRefParams,
        body: RuntimeTestRequest.optional(),
        response: { 200: RuntimeTestResponse },
      },
    },
    async (request, reply) =>
      testRuntime(
        {
          runtimes: app.runtimes,
          nodes: app.nodes,
          callNode: (node, kind, data, timeoutMs) =>
            app.nodeCalls.call(reply.raw, node, kind, data, timeoutMs),
        },
        request.params.ref,
        request.body ?? {},
      ),
  );
};
export default route;
