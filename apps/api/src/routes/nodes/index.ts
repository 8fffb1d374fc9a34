/**
 * `GET /v1/nodes`: every registered node, online or not, with its runtimes. `POST
 * /v1/nodes/:name/cordon|drain|uncordon` and `DELETE /v1/nodes/:name` (admin): nodes as operators
 * manage them (services/node-admin.ts).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  ListNodesResponse,
  NodeNameParams,
  NodeScheduleRequest,
  NodeView,
  RemoveNodeResponse,
} from '@joblet/spec';
import { ApiError } from '../../plugins/errors.js';

function who(request: FastifyRequest): string {
  if (!request.identity) throw new ApiError(401, 'UNAUTHENTICATED', 'not authenticated');
  return request.identity.subject;
}

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/nodes',
    { config: { role: 'reader' }, schema: { response: { 200: ListNodesResponse } } },
    async () => ({ nodes: await app.nodes.list() }),
  );
  for (const action of ['cordon', 'drain'] as const) {
    r.post(
      `/v1/nodes/:name/${action}`,
      {
        config: { role: 'admin' },
        bodyLimit: 4 * 1024,
        schema: {
          params: NodeNameParams,
          body: NodeScheduleRequest,
          response: { 200: NodeView },
        },
      },
      async (request) => {
        if (action === 'cordon' && request.body.deadlineS !== undefined)
          throw new ApiError(400, 'BAD_REQUEST', 'deadlineS: only a drain has a deadline', [
            { field: 'deadlineS', message: 'drain only' },
          ]);
        const node = await app.nodeAdmin[action](request.params.name, who(request), request.body);
        request.log.info({ node: node.name, schedule: node.schedule }, `node ${action}ed`);
        return node;
      },
    );
  }
  r.post(
    '/v1/nodes/:name/uncordon',
    {
      config: { role: 'admin' },
      schema: { params: NodeNameParams, response: { 200: NodeView } },
    },
    async (request) => {
      const node = await app.nodeAdmin.uncordon(request.params.name);
      request.log.info({ node: node.name, by: who(request) }, 'node uncordoned');
      return node;
    },
  );
  r.delete(
    '/v1/nodes/:name',
    {
      config: { role: 'admin' },
      schema: { params: NodeNameParams, response: { 200: RemoveNodeResponse } },
    },
    async (request) => {
      const removed = await app.nodeAdmin.remove(request.params.name);
      request.log.info({ ...removed, by: who(request) }, 'node removed');
      return removed;
    },
  );
};
export default route;
