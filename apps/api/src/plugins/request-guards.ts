/**
 * Two checks that keep web pages from using the API through a browser on this machine:
 *
 * - `hostGuard` (before authentication): the `Host` header must name this API (see
 *   `auth/host-policy.ts`) — DNS rebinding → 403 `FORBIDDEN`.
 * - `forgeryGuard` (after authentication and the role check, so 401/403 keep their meaning): a
 *   state-changing request (POST, PUT, PATCH, DELETE) must carry a header a browser cannot send
 *   to another origin without a CORS preflight, which this API never grants: a JSON
 *   `Content-Type` (requests with a body), or `X-Joblet-Request` (any value; `rnx` and the
 *   dashboard send `1`), or `Sec-Fetch-Site: same-origin` — the Fetch Metadata header browsers
 *   set themselves and pages cannot (a forbidden header name): that is how Bull Board's buttons,
 *   served by this API and unable to add a header, pass. A form post or a body-less
 *   `fetch(…, { method: 'POST', mode: 'no-cors' })` from any other site — stop or cancel a job —
 *   has none of these (its browser says `Sec-Fetch-Site: cross-site`) → 403 `FORBIDDEN` naming
 *   the header.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hostAllowed, hostRefusal, type HostPolicy } from '../auth/host-policy.js';
import { ApiError } from './errors.js';

/** The header `rnx` and the dashboard send with every request. */
export const REQUEST_HEADER = 'x-joblet-request';
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `application/json`, `application/merge-patch+json`…: types a browser must preflight. */
function isJsonType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

export const hostGuard = fp(
  (app: FastifyInstance, opts: { hosts: HostPolicy }) => {
    app.addHook('onRequest', (request, _reply, done) => {
      const host = request.headers.host;
      if (hostAllowed(opts.hosts, host)) return done();
      request.log.info({ host }, 'host refused');
      done(new ApiError(403, 'FORBIDDEN', hostRefusal(opts.hosts, host)));
    });
  },
  { name: 'host-guard', dependencies: ['errors'] },
);

export const forgeryGuard = fp(
  (app: FastifyInstance) => {
    app.addHook('onRequest', (request, _reply, done) => {
      const marker = request.headers[REQUEST_HEADER];
      if (
        !STATE_CHANGING.has(request.method) ||
        isJsonType(request.headers['content-type']) ||
        (typeof marker === 'string' && marker !== '') ||
        request.headers['sec-fetch-site'] === 'same-origin'
      )
        return done();
      request.log.info({ contentType: request.headers['content-type'] }, 'forgeable request');
      done(
        new ApiError(
          403,
          'FORBIDDEN',
          `${request.method} requests need the header X-Joblet-Request: 1 (or Content-Type: ` +
            `application/json with a JSON body), which a web page on another site cannot send; ` +
            `rnx and the dashboard send it`,
        ),
      );
    });
  },
  { name: 'forgery-guard', dependencies: ['errors', 'auth'] },
);
