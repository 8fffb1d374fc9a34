/**
 * Authentication and authorization in one `onRequest` hook, before any body is read:
 *
 * 1. `public` routes (liveness) pass untouched.
 * 2. Who: `API_AUTH=none` → the local admin (loopback only, enforced at start-up); else a bearer
 *    token when an Authorization header is sent (it wins over a certificate, which may only have
 *    carried the connection), else the verified client certificate. Missing, expired, revoked or
 *    unverifiable → 401 `UNAUTHENTICATED` saying which.
 * 3. How often: requests per client per window (Redis) → 429 `RATE_LIMITED`; failed
 *    authentications count against the source address.
 * 4. May they: the route's declared `config.role` against the identity's role → 403 `FORBIDDEN`
 *    (`role developer cannot build runtimes; maintainer required`).
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { roleSatisfies } from '@joblet/spec';
import { authModeIncludes, type AuthMode } from '../auth/auth-mode.js';
import { certIdentity } from '../auth/cert-identity.js';
import { identityKey, type Identity } from '../auth/identity.js';
import { forbiddenMessage } from '../auth/verbs.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { StreamSlots } from '../limits/stream-slots.js';
import { TokenRejected, type TokenService } from '../services/token-service.js';
import { ApiError } from './errors.js';

export interface AuthPluginOptions {
  mode: AuthMode;
  tokens: TokenService;
  rate: RateLimiter;
  streams: StreamSlots;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Open SSE streams of this process (see `sse-stream.ts`). */
    streamSlots: StreamSlots;
  }
}

const LOCAL: Identity = { kind: 'local', subject: 'local', role: 'admin' };
const BEARER = /^Bearer +(\S+)$/i;

function missing(mode: AuthMode): string {
  const cert = 'present a client certificate signed by the farm’s CA (its OU names your role)';
  const token = 'send Authorization: Bearer jrf_<id>_<secret>';
  if (mode === 'mtls') return `no client certificate: ${cert}`;
  if (mode === 'token') return `no credentials: ${token}`;
  return `no credentials: ${cert}, or ${token}`;
}

export default fp(
  (app: FastifyInstance, opts: AuthPluginOptions) => {
    app.decorateRequest('identity', undefined);
    app.decorate('streamSlots', opts.streams);

    async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Identity> {
      if (opts.mode === 'none') return LOCAL;
      const header = request.headers.authorization;
      let reason: string;
      if (header !== undefined) {
        if (!authModeIncludes(opts.mode, 'token')) {
          reason = `this server does not accept API tokens (API_AUTH=${opts.mode}); use a client certificate`;
        } else {
          const m = BEARER.exec(header);
          try {
            if (m?.[1]) return await opts.tokens.verify(m[1]);
            reason = 'the Authorization header must be "Bearer jrf_<id>_<secret>"';
          } catch (err) {
            if (!(err instanceof TokenRejected)) throw err;
            reason = err.message;
          }
        }
      } else {
        const cert = authModeIncludes(opts.mode, 'mtls')
          ? certIdentity(request.raw.socket as TLSSocket)
          : undefined;
        if (cert?.ok) return cert.identity;
        reason = cert?.reason ?? missing(opts.mode);
      }
      // Guessing tokens costs a Redis read each: failures are rate-limited by source address.
      await limit(`ip:${request.ip}`, reply);
      if (authModeIncludes(opts.mode, 'token')) void reply.header('www-authenticate', 'Bearer');
      request.log.info({ reason }, 'authentication failed');
      throw new ApiError(401, 'UNAUTHENTICATED', reason);
    }

    async function limit(client: string, reply: FastifyReply): Promise<void> {
      const verdict = await opts.rate.hit(client);
      if (verdict.state) {
        void reply.header('ratelimit-limit', String(verdict.state.limit));
        void reply.header('ratelimit-remaining', String(verdict.state.remaining));
        void reply.header('ratelimit-reset', String(verdict.state.resetS));
      }
      if (verdict.ok) return;
      void reply.header('retry-after', String(verdict.retryAfterS));
      const { requests, windowS } = opts.rate.limit;
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `too many requests from ${client}: the limit is ${requests} per ${windowS}s; retry in ${verdict.retryAfterS}s`,
      );
    }

    app.addHook('onRequest', async (request, reply) => {
      const required = request.routeOptions.config?.role;
      if (required === 'public') return;
      const identity = await authenticate(request, reply);
      request.identity = identity;
      const key = identityKey(identity);
      if (identity.kind !== 'local') {
        request.log = request.log.child({ client: key });
        await limit(key, reply);
      }
      // No declared role: no route matched; the 404 handler answers (after authentication).
      if (required && !roleSatisfies(identity.role, required)) {
        const url = request.routeOptions.url ?? request.url;
        request.log.info({ role: identity.role, required }, 'forbidden');
        throw new ApiError(
          403,
          'FORBIDDEN',
          forbiddenMessage(identity.role, required, request.method, url),
        );
      }
    });
  },
  { name: 'auth', dependencies: ['errors', 'roles'] },
);
