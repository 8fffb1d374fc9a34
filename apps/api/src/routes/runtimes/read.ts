/**
 * `GET /v1/runtimes` (with `?package=NAME`: only runtimes whose SBOM lists it) and
 * `GET /v1/runtimes/:ref` (any reference form; the version is honoured).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  ListRuntimesQuery,
  ListRuntimesResponse,
  RuntimeDetail,
  RuntimeRefParams,
} from '@joblet/spec';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/runtimes',
    {
      config: { role: 'reader' },
      schema: { querystring: ListRuntimesQuery, response: { 200: ListRuntimesResponse } },
    },
    async (request) => {
      const all = await app.runtimes.list();
      const wanted = request.query.package;
      return {
        runtimes: wanted === undefined ? all : await app.runtimeSboms.withPackage(all, wanted),
      };
    },
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
