/**
 * `GET /healthz`: liveness — the process answers (never touches a dependency, so a Redis outage
 * does not get every replica restarted). `GET /readyz`: readiness — Redis answers PING and the
 * artifact store is reachable; 503 naming what is down. Both public, for probes.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ReadyResponse } from '@joblet/spec';
import { readiness } from '../../services/readiness.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ready = readiness(app);
  r.get('/healthz', { config: { role: 'public' } }, () => ({ status: 'ok' }));
  r.get(
    '/readyz',
    {
      config: { role: 'public' },
      schema: { response: { 200: ReadyResponse, 503: ReadyResponse } },
    },
    async (_request, reply) => {
      const res = await ready();
      return reply.status(res.status === 'ready' ? 200 : 503).send(res);
    },
  );
};
export default route;
