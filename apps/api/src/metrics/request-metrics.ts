/**
 * The API's own metrics, per process (Prometheus scrapes each replica): request latency by
 * method, route pattern and status, plus Node's process metrics. One registry per app, so tests
 * that build many apps never share or collide.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's metrics registry (`/metrics` renders it with the farm's metrics). */
    metrics: Registry;
  }
}

/** Seconds: 1 ms (a cached read) to 10 s; SSE streams, open for minutes, land in +Inf. */
const BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export default fp(
  (app: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const latency = new Histogram({
      name: 'joblet_api_request_duration_seconds',
      help: 'API request latency by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: BUCKETS_S,
      registers: [registry],
    });
    app.decorate('metrics', registry);
    app.addHook('onResponse', (request, reply, done) => {
      // The route pattern, never the raw URL: ids in paths would make a series per request.
      const route = request.routeOptions.url ?? 'unmatched';
      latency.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  },
  { name: 'request-metrics' },
);
