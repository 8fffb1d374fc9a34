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
import type { Services } from '../../services/services.js';

const route =
  (s: Services): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await
  async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.delete(
      '/v1/runtimes/:ref',
      {
        config: { role: 'admin' },
        schema: { params: RuntimeRefParams, response: { 200: RemoveRuntimeResponse } },
      },
      async (request) => {
        const removed = await s.runtimes.remove(request.params.ref);
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
      async (request) => testRuntime(s, request.params.ref, request.body ?? {}),
    );
  };
export default route;
