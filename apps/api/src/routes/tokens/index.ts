/**
 * `/v1/tokens` (admin): create an API token (its secret is in this one answer only), list tokens
 * without secrets, revoke one.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  CreateTokenRequest,
  CreateTokenResponse,
  ListTokensResponse,
  TokenIdParams,
  TokenView,
} from '@joblet/spec';
import type { Identity } from '../../auth/identity.js';
import { ApiError } from '../../plugins/errors.js';

function caller(request: FastifyRequest): Identity {
  if (!request.identity) throw new ApiError(401, 'UNAUTHENTICATED', 'not authenticated');
  return request.identity;
}

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const { tokens } = app;
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/tokens',
    {
      config: { role: 'admin' },
      bodyLimit: 4 * 1024,
      schema: { body: CreateTokenRequest, response: { 201: CreateTokenResponse } },
    },
    async (request, reply) => {
      const created = await tokens.create(request.body, caller(request));
      request.log.info({ tokenId: created.id, role: created.role }, 'token created');
      // Never cached anywhere: the secret is in this body.
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );
  r.get(
    '/v1/tokens',
    { config: { role: 'admin' }, schema: { response: { 200: ListTokensResponse } } },
    async () => ({ tokens: await tokens.list() }),
  );
  r.delete(
    '/v1/tokens/:id',
    {
      config: { role: 'admin' },
      schema: { params: TokenIdParams, response: { 200: TokenView } },
    },
    async (request) => {
      const revoked = await tokens.revoke(request.params.id, caller(request));
      request.log.info({ tokenId: revoked.id }, 'token revoked');
      return revoked;
    },
  );
};
export default route;
