/**
 * `buildApp()` assembles the API without listening or touching signals, so tests construct it and
 * drive it through `app.inject()`; `index.ts` adds env, ports and shutdown.
 */
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '@joblet/logging';
import { AuthKeys } from './auth/auth-keys.js';
import { DEFAULT_SECURITY, httpsOptions, type SecurityOptions } from './auth/security.js';
import { RateLimiter } from './limits/rate-limiter.js';
import { StreamSlots } from './limits/stream-slots.js';
import auth from './plugins/auth.js';
import { bullBoard } from './plugins/bull-board.js';
import errors from './plugins/errors.js';
import requestMetrics from './metrics/request-metrics.js';
import roles from './plugins/roles.js';
import cancelBuild from './routes/builds/cancel.js';
import buildEvents from './routes/builds/events.js';
import readBuilds from './routes/builds/read.js';
import submitBuild from './routes/builds/submit.js';
import dashboard from './routes/dashboard.js';
import gc from './routes/gc.js';
import health from './routes/health.js';
import metrics from './routes/metrics.js';
import validate from './routes/runtimes/validate.js';
import readRuntimes from './routes/runtimes/read.js';
import manageRuntimes from './routes/runtimes/manage.js';
import readNodes from './routes/nodes/read.js';
import jobs from './routes/jobs/jobs.js';
import volumes from './routes/volumes.js';
import pools from './routes/pools.js';
import tokenRoutes from './routes/tokens.js';
import type { Services } from './services/services.js';
import { TokenService } from './services/token-service.js';
import ui from './ui/ui-routes.js';

export interface BuildAppOptions {
  services: Services;
  logger?: Logger | false;
  /** Auth mode, TLS and bounds; default: plain HTTP, `API_AUTH=none` (loopback only). */
  security?: SecurityOptions;
}

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const security = opts.security ?? DEFAULT_SECURITY;
  const app = Fastify({
    ...(security.tls ? { https: httpsOptions(security.tls) } : {}),
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: 64 * 1024,
    requestIdHeader: 'x-request-id',
    // On close, SSE streams are cut rather than waited for: clients resume with Last-Event-ID,
    // possibly on another replica.
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  if (security.tls) {
    // A renegotiation could swap the client certificate under the per-connection identity cache,
    // and costs the server a handshake on demand: refuse it (TLS 1.3 has none anyway).
    app.server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  }
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const s = opts.services;
  const authKeys = new AuthKeys(s.prefix);
  const tokens = new TokenService(s.redis, authKeys);

  // Order matters: error handling, the role check and authentication must wrap every route
  // registered after them.
  await app.register(errors);
  await app.register(roles);
  await app.register(auth, {
    mode: security.mode,
    tokens,
    rate: new RateLimiter(s.redis, authKeys, security.rateLimit),
    streams: new StreamSlots(security.streams),
  });
  await app.register(requestMetrics);

  await app.register(health(s));
  await app.register(validate(s));
  await app.register(submitBuild(s));
  await app.register(readBuilds(s));
  await app.register(cancelBuild(s));
  await app.register(buildEvents(s));
  await app.register(readRuntimes(s));
  await app.register(manageRuntimes(s));
  await app.register(readNodes(s));
  await app.register(jobs(s));
  await app.register(volumes(s));
  await app.register(pools(s));
  await app.register(tokenRoutes(tokens));
  await app.register(gc(s));
  await app.register(metrics(s));
  await app.register(dashboard(s));
  await app.register(ui);
  await app.register(bullBoard(s));
  return app;
}
