/**
 * `/v1/networks`: job networks. The built-in ones (none, isolated and its alias egress, bridge,
 * host) are listed with the custom ones, which are farm-wide definitions in Redis
 * (@joblet/queue's NetworkRegistry) that every node realises on demand: creating one touches no
 * node. A network is removed only while none of its jobs runs.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  BRIDGE_NETWORK_CIDR,
  BUILTIN_NETWORKS,
  CreateNetworkRequest,
  ListNetworksResponse,
  NetworkParams,
  NetworkView,
} from '@joblet/spec';
import { NetworkRegistryError } from '@joblet/queue';
import { ApiError } from '../../plugins/errors.js';

const STATUS = { EXISTS: 409, OVERLAP: 409, IN_USE: 409, NOT_FOUND: 404, FULL: 409 } as const;

function apiError(err: unknown): unknown {
  if (!(err instanceof NetworkRegistryError)) return err;
  const status = STATUS[err.code];
  return new ApiError(status, status === 404 ? 'NOT_FOUND' : 'CONFLICT', err.message);
}

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/networks',
    {
      config: { role: 'developer' },
      schema: { body: CreateNetworkRequest, response: { 201: NetworkView } },
    },
    async (request, reply) => {
      const def = await app.networks
        .create(request.body.name, request.body.cidr)
        .catch((err: unknown) => {
          throw apiError(err);
        });
      return reply.status(201).send({ ...def, builtin: false });
    },
  );
  r.get(
    '/v1/networks',
    { config: { role: 'reader' }, schema: { response: { 200: ListNetworksResponse } } },
    async () => {
      const builtin = BUILTIN_NETWORKS.map((name) => ({
        name,
        builtin: true,
        ...(name === 'bridge' && { cidr: BRIDGE_NETWORK_CIDR }),
      }));
      const custom = (await app.networks.list()).map((n) => ({ ...n, builtin: false }));
      return { networks: [...builtin, ...custom] };
    },
  );
  r.delete(
    '/v1/networks/:name',
    {
      config: { role: 'developer' },
      schema: { params: NetworkParams, response: { 200: NetworkView } },
    },
    async (request) => {
      const def = await app.networks.get(request.params.name);
      await app.networks.remove(request.params.name).catch((err: unknown) => {
        throw apiError(err);
      });
      return { name: request.params.name, builtin: false, ...(def && { cidr: def.cidr }) };
    },
  );
};
export default route;
