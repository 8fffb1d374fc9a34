/** `GET /v1/runtimes` and `GET /v1/runtimes/:ref` (any reference form; the version is honoured). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ListRuntimesResponse, RuntimeDetail, RuntimeRefParams } from '@joblet/spec';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/runtimes',
    { config: { role: 'reader' }, schema: { response: { 200: ListRuntimesResponse } } },
    async () => ({ runtimes: await app.runtimes.list() }),
  );
  r.get(
    '/v1/runtimes/:ref',
    {
      config: { role: 'reader' },
      schema: { params: RuntimeRefParams, response: { 200: RuntimeDetail } },
    },
    async (request) => app.runtimes.detail(request.params.ref),
  );
};
export default route;
