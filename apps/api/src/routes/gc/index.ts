/** `POST /v1/gc` (admin): find — and unless `dryRun` (the default) delete — the store's garbage. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { GcRequest, GcResponse } from '@joblet/spec';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/gc',
    {
      config: { role: 'admin' },
      schema: { body: GcRequest.optional(), response: { 200: GcResponse } },
    },
    async (request) => {
      const dryRun = request.body?.dryRun ?? true;
      return app.gc.collect({ dryRun, log: request.log.child({ task: 'gc', dryRun }) });
    },
  );
};
export default route;
