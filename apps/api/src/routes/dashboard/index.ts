/** `GET /v1/dashboard` (reader): the whole farm at a glance, for `/ui`. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DashboardResponse } from '@joblet/spec';
import { dashboardView } from '../../services/dashboard-service.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const view = dashboardView(app);
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/v1/dashboard',
      { config: { role: 'reader' }, schema: { response: { 200: DashboardResponse } } },
      async () => view(),
    );
};
export default route;
