/**
 * `/v1/volumes`: named persistent directories on a node. The node's agent creates and removes the
 * directory (through its own queue); the registry of names lives in Redis.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  CreateVolumeRequest,
  ListVolumesResponse,
  VolumeParams,
  VolumeQuery,
  VolumeView,
} from '@joblet/spec';
import { VOLUME_CALL_TIMEOUT_MS, VOLUME_CREATE_JOB, VOLUME_REMOVE_JOB } from '@joblet/queue';
import { ApiError } from '../plugins/errors.js';
import { callNode } from '../services/node-call.js';
import type { Services } from '../services/services.js';

async function pickNode(s: Services, node: string | undefined): Promise<string> {
  const online = (await s.nodes.list()).filter((n) => n.online);
  if (node) {
    if (!online.some((n) => n.name === node))
      throw new ApiError(400, 'BAD_REQUEST', `node ${node} is not online`, [
        { field: 'node', message: 'not online' },
      ]);
    return node;
  }
  if (online.length === 1) return online[0]!.name;
  throw new ApiError(
    400,
    'BAD_REQUEST',
    `${online.length} nodes are online; say which with --node`,
    [{ field: 'node', message: 'required when several nodes are online' }],
  );
}

const route =
  (s: Services): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await
  async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post(
      '/v1/volumes',
      {
        config: { role: 'developer' },
        schema: { body: CreateVolumeRequest, response: { 201: VolumeView } },
      },
      async (request, reply) => {
        const node = await pickNode(s, request.body.node);
        await callNode(
          s,
          node,
          VOLUME_CREATE_JOB,
          { name: request.body.name },
          VOLUME_CALL_TIMEOUT_MS,
        );
        await s.redis.sadd(s.keys.volumes(node), request.body.name);
        return reply.status(201).send({ name: request.body.name, node });
      },
    );
    r.get(
      '/v1/volumes',
      { config: { role: 'reader' }, schema: { response: { 200: ListVolumesResponse } } },
      async () => {
        const nodes = await s.nodes.list();
        const volumes = [];
        for (const n of nodes) {
          for (const name of (await s.redis.smembers(s.keys.volumes(n.name))).sort())
            volumes.push({ name, node: n.name });
        }
        return { volumes };
      },
    );
    r.delete(
      '/v1/volumes/:name',
      {
        config: { role: 'developer' },
        schema: { params: VolumeParams, querystring: VolumeQuery, response: { 200: VolumeView } },
      },
      async (request) => {
        const node = await pickNode(s, request.query.node);
        if (!(await s.redis.sismember(s.keys.volumes(node), request.params.name))) {
          throw new ApiError(
            404,
            'NOT_FOUND',
            `volume not found: ${request.params.name} on ${node}`,
          );
        }
        await callNode(
          s,
          node,
          VOLUME_REMOVE_JOB,
          { name: request.params.name },
          VOLUME_CALL_TIMEOUT_MS,
        );
        await s.redis.srem(s.keys.volumes(node), request.params.name);
        return { name: request.params.name, node };
      },
    );
  };
export default route;
