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
import requestMetrics from './metrics/request-metrics.js';
import auth from './plugins/auth.js';
import { bullBoard } from './plugins/bull-board.js';
import errors from './plugins/errors.js';
import farmClients, { type FarmOptions } from './plugins/farm-clients.js';
import farmServices from './plugins/farm-services.js';
import { forgeryGuard, hostGuard } from './plugins/request-guards.js';
import roles from './plugins/roles.js';
import { ROUTES } from './routes/index.js';

/** The farm's clients and settings (the caller closes Redis and the store after the app). */
export interface BuildAppOptions extends FarmOptions {
  logger?: Logger | false;
  /** Auth mode, TLS, Host names and bounds; default `DEFAULT_SECURITY` (tests: `API_AUTH=none`). */
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

  // The farm's clients, then the services made from them: app decorators every route reads.
  const { logger: _logger, security: _security, ...farm } = opts;
  await app.register(farmClients, { farm });
  await app.register(farmServices);

  // Order matters: error handling, the role check and authentication must wrap every route
  // registered after them. Hooks run in this order: the Host check (a request for another name
  // is refused before anything else), authentication and the role, then the forgery check (so a
  // request without credentials still gets its 401).
  await app.register(errors);
  await app.register(roles);
  await app.register(hostGuard, { hosts: security.hosts });
  await app.register(auth, {
    mode: security.mode,
    tokens: app.tokens,
    rate: new RateLimiter(app.redis, new AuthKeys(app.settings.prefix), security.rateLimit),
    streams: new StreamSlots(security.streams),
  });
  await app.register(forgeryGuard);
  await app.register(requestMetrics);

  for (const routes of ROUTES) await app.register(routes);
  await app.register(bullBoard);
  return app;
}
