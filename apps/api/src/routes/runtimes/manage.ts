/**
 * `DELETE /v1/runtimes/:ref` (admin), `POST /v1/runtimes/:ref/test` (developer), and the retention
 * pins `PUT|DELETE /v1/runtimes/:ref/pin` (admin).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  PinRuntimeRequest,
  PinRuntimeResponse,
  RemoveRuntimeResponse,
  RuntimeRefParams,
  RuntimeTestRequest,
  RuntimeTestResponse,
} from '@joblet/spec';
import { testRuntime } from '../../services/runtime-test.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.delete(
    '/v1/runtimes/:ref',
    {
      config: { role: 'admin' },
      schema: { params: RuntimeRefParams, response: { 200: RemoveRuntimeResponse } },
    },
    async (request) => {
      const removed = await app.runtimes.remove(request.params.ref);
      for (const r of removed)
        request.log.info({ runtime: `${r.name}@${r.version}` }, 'runtime removed');
      return { removed };
    },
  );
  r.put(
    '/v1/runtimes/:ref/pin',
    {
      config: { role: 'admin' },
      schema: {
        params: RuntimeRefParams,
        body: PinRuntimeRequest.nullish(),
        response: { 200: PinRuntimeResponse },
      },
    },
    async (request) => {
      const by = request.identity?.subject ?? 'unknown';
      const pinned = await app.runtimes.pin(request.params.ref, by, request.body?.reason);
      request.log.info({ runtime: `${pinned.name}@${pinned.version}`, by }, 'runtime pinned');
      return pinned;
    },
  );
  r.delete(
    '/v1/runtimes/:ref/pin',
    {
      config: { role: 'admin' },
      schema: { params: RuntimeRefParams, response: { 200: PinRuntimeResponse } },
    },
    async (request) => {
      const unpinned = await app.runtimes.unpin(request.params.ref);
      request.log.info({ runtime: `${unpinned.name}@${unpinned.version}` }, 'runtime unpinned');
      return unpinned;
    },
  );
  r.post(
    '/v1/runtimes/:ref/test',
    {
      config: { role: 'developer' },
      schema: {
        params: RuntimeRefParams,
        body: RuntimeTestRequest.optional(),
        response: { 200: RuntimeTestResponse },
      },
    },
    async (request, reply) =>
      testRuntime(
        {
          runtimes: app.runtimes,
          nodes: app.nodes,
          callNode: (node, kind, data, timeoutMs) =>
            app.nodeCalls.call(reply.raw, node, kind, data, timeoutMs),
        },
        request.params.ref,
        request.body ?? {},
      ),
  );
};
export default route;
