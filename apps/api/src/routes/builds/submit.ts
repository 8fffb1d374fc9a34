/**
 * `POST /v1/builds`: validate, answer cached, join an identical build in flight, or enqueue (a new
 * build counts against the submitter's queued-builds quota).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  SPEC_REQUEST_BODY_LIMIT_BYTES,
  SubmitBuildRequest,
  SubmitBuildResponse,
} from '@joblet/spec';
import { quotaOwner } from '../../services/quota-service.js';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/builds',
    {
      config: { role: 'maintainer' },
      bodyLimit: SPEC_REQUEST_BODY_LIMIT_BYTES,
      schema: {
        body: SubmitBuildRequest,
        response: { 200: SubmitBuildResponse, 202: SubmitBuildResponse },
      },
    },
    async (request, reply) => {
      const res = await app.builds.submit({
        ...request.body,
        owner: quotaOwner(request.identity),
      });
      if (res.kind === 'cached') {
        request.log.info(
          { runtime: `${res.name}@${res.version}`, result: 'cached' },
          'build submission answered from cache',
        );
        return reply.status(200).send({
          result: 'cached',
          name: res.name,
          version: res.version,
          index: res.index,
          skipped: res.skipped,
        });
      }
      request.log.child({ buildId: res.build.id }).info(
        {
          runtime: `${res.build.name}@${res.build.version}`,
          arches: res.build.arches,
          skipped: (res.build.skipped ?? []).map((s) => s.arch),
          deduplicated: res.deduplicated,
        },
        'build queued',
      );
      return reply
        .status(202)
        .send({ result: 'queued', deduplicated: res.deduplicated, build: res.build });
    },
  );
};
export default route;
