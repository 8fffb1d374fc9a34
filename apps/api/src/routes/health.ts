import type { FastifyPluginAsync } from 'fastify';

/** Liveness: the process answers. Readiness (Redis, store) lands with the services it checks. */
// eslint-disable-next-line @typescript-eslint/require-await
const health: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { config: { role: 'public' } }, () => ({ status: 'ok' }));
};
export default health;
