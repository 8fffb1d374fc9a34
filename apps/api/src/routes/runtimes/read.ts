/** `GET /v1/runtimes` and `GET /v1/runtimes/:ref` (any reference form; the version is honoured). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ListRuntimesResponse, RuntimeDetail, RuntimeRefParams } from '@joblet/spec';
import type { Services } from '../../services/services.js';

const route =
  (s: Services): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await
  async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get(
      '/v1/runtimes',
      { config: { role: 'reader' }, schema: { response: { 200: ListRuntimesResponse } } },
      async () => ({ runtimes: await s.runtimes.list() }),
    );
    r.get(
      '/v1/runtimes/:ref',
      {
        config: { role: 'reader' },
        schema: { params: RuntimeRefParams, response: { 200: RuntimeDetail } },
      },
      async (request) => s.runtimes.detail(request.params.ref),
    );
  };
export default route;
