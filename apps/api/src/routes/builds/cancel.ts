/** `POST /v1/builds/:id/cancel`: queued arches are dropped, running sandboxes killed. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { BuildIdParams, BuildRecord } from '@joblet/spec';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/builds/:id/cancel',
    {
      config: { role: 'maintainer' },
      schema: { params: BuildIdParams, response: { 200: BuildRecord } },
    },
    async (request) => {
      request.log = request.log.child({ buildId: request.params.id });
      const build = await app.builds.cancel(request.params.id);
      request.log.info({ state: build.state }, 'build canceled');
      return build;
    },
  );
};
export default route;
