/**
 * `/v1/volumes`: named persistent directories on a node. The node's agent creates and removes the
 * directory (through its own queue); the registry of names lives in Redis, with the sizes of the
 * sized ones (`size`: the node makes them filesystems of their own, so a write past it fails). Each volume counts
 * against its creator's volumes quota until it is removed (by anyone allowed to).
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
import {
  VOLUME_CALL_TIMEOUT_MS,
  VOLUME_CREATE_JOB,
  VOLUME_REMOVE_JOB,
  volumeQuotaItem,
} from '@joblet/queue';
import { ApiError } from '../../plugins/errors.js';
import type { NodeService } from '../../services/node-service.js';
import { quotaOwner } from '../../services/quota-service.js';

async function pickNode(
  nodes: Pick<NodeService, 'list'>,
  node: string | undefined,
): Promise<string> {
  const online = (await nodes.list()).filter((n) => n.online);
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

/** `of 10 GiB` / `without a size`, for messages. */
function describeSize(bytes: number | undefined): string {
  if (bytes === undefined) return 'without a size';
  const mib = bytes / (1024 * 1024);
  return mib >= 1024 && mib % 1024 === 0 ? `of ${mib / 1024} GB` : `of ${Math.round(mib)} MB`;
}

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/volumes',
    {
      config: { role: 'developer' },
      schema: { body: CreateVolumeRequest, response: { 201: VolumeView } },
    },
    async (request, reply) => {
      const { name, size } = request.body;
      const node = await pickNode(app.nodes, request.body.node);
      const item = volumeQuotaItem(node, name);
      const existed = await app.redis.sismember(app.keys.volumes(node), name);
      if (existed) {
        const had = await app.redis.hget(app.keys.volumeSizes(node), name);
        const hadBytes = had === null ? undefined : Number(had);
        if (hadBytes !== size) {
          throw new ApiError(
            409,
            'CONFLICT',
            `volume ${name} exists on ${node} ${describeSize(hadBytes)}; remove it first to change its size`,
            [{ field: 'size', message: `the volume has ${describeSize(hadBytes)}` }],
          );
        }
      }
      await app.quotas.reserve('volumes', quotaOwner(request.identity), item);
      try {
        await app.nodeCalls.call(
          reply.raw,
          node,
          VOLUME_CREATE_JOB,
          { name, ...(size !== undefined && { sizeBytes: size }) },
          VOLUME_CALL_TIMEOUT_MS,
        );
      } catch (err) {
        // Only a volume this request would have made frees the slot it took.
        if (!existed) await app.quotas.release('volumes', item);
        throw err;
      }
      if (size !== undefined) await app.redis.hset(app.keys.volumeSizes(node), name, size);
      await app.redis.sadd(app.keys.volumes(node), name);
      return reply.status(201).send({ name, node, ...(size !== undefined && { sizeBytes: size }) });
    },
  );
  r.get(
    '/v1/volumes',
    { config: { role: 'reader' }, schema: { response: { 200: ListVolumesResponse } } },
    async () => {
      const nodes = await app.nodes.list();
      const volumes = [];
      for (const n of nodes) {
        const sizes = await app.redis.hgetall(app.keys.volumeSizes(n.name));
        for (const name of (await app.redis.smembers(app.keys.volumes(n.name))).sort()) {
          const size = sizes[name];
          volumes.push({
            name,
            node: n.name,
            ...(size !== undefined && { sizeBytes: Number(size) }),
          });
        }
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
    async (request, reply) => {
      const node = await pickNode(app.nodes, request.query.node);
      if (!(await app.redis.sismember(app.keys.volumes(node), request.params.name))) {
        throw new ApiError(404, 'NOT_FOUND', `volume not found: ${request.params.name} on ${node}`);
      }
      await app.nodeCalls.call(
        reply.raw,
        node,
        VOLUME_REMOVE_JOB,
        { name: request.params.name },
        VOLUME_CALL_TIMEOUT_MS,
      );
      await app.redis.srem(app.keys.volumes(node), request.params.name);
      await app.redis.hdel(app.keys.volumeSizes(node), request.params.name);
      await app.quotas.release('volumes', volumeQuotaItem(node, request.params.name));
      return { name: request.params.name, node };
    },
  );
};
export default route;
