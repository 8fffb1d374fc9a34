/**
 * `GET /v1/builds/:id/events`: SSE of the build's phases, log lines and result. Replays from the
 * start (or after `Last-Event-ID`), then follows until the terminal `done` event.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { BuildEvent, BuildIdParams, isTerminal } from '@joblet/spec';
import { followStream } from '@joblet/queue';
import { ApiError } from '../../plugins/errors.js';
import { lastEventId, sendSse } from '../../sse/sse-stream.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/v1/builds/:id/events',
      { config: { role: 'reader' }, schema: { params: BuildIdParams } },
      async (request, reply) => {
        const { id } = request.params;
        request.log = request.log.child({ buildId: id });
        if (!(await app.buildStore.getMeta(id)))
          throw new ApiError(404, 'NOT_FOUND', `build not found: ${id}`);
        const after = lastEventId(request);
        // A blocking read holds its connection: each follower gets its own, closed at the end.
        const follower = app.redis.duplicate();
        try {
          await sendSse(request, reply, (signal) =>
            followStream(app.redis, follower, app.keys.buildEvents(id), BuildEvent, {
              afterId: after,
              signal,
              blockMs: 2_000,
              stop: isTerminal,
              finished: async () => Boolean((await app.buildStore.getMeta(id))?.final),
            }),
          );
        } finally {
          follower.disconnect();
        }
      },
    );
};
export default route;
