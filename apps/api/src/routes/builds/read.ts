/** `GET /v1/builds` and `GET /v1/builds/:id`. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { BuildIdParams, BuildRecord, ListBuildsQuery, ListBuildsResponse } from '@joblet/spec';
import { ApiError } from '../../plugins/errors.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/builds',
    {
      config: { role: 'reader' },
      schema: { querystring: ListBuildsQuery, response: { 200: ListBuildsResponse } },
    },
    async (request) => ({
      builds: await app.buildStore.list(request.query.limit, request.query.offset),
    }),
  );
  r.get(
    '/v1/builds/:id',
    {
      config: { role: 'reader' },
      schema: { params: BuildIdParams, response: { 200: BuildRecord } },
    },
    async (request) => {
      const build = await app.buildStore.get(request.params.id);
      if (!build) throw new ApiError(404, 'NOT_FOUND', `build not found: ${request.params.id}`);
      return build;
    },
  );
};
export default route;
