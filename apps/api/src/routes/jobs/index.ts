/**
 * `/v1/jobs`: a job id in a path may be a unique prefix of 8+ characters (JobService.resolveId).
 * Submit (developer; `network: host` needs admin), list (summaries) and read the full
 * record (reader), stop and cancel (developer), and the log stream over SSE (reader): output
 * lines in order, history then live, resumable with `Last-Event-ID`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  FINAL_JOB_STATES,
  JobEvent,
  JobIdParams,
  JobRecord,
  JobRequest,
  ListJobsQuery,
  ListJobsResponse,
  UPLOAD_LIMITS,
} from '@joblet/spec';
import { followStream } from '@joblet/queue';
import { quotaOwner } from '../../services/quota-service.js';
import { lastEventId, sendSse } from '../../sse/sse-stream.js';

/** Base64 grows data by 4/3; leave room for the rest of the request. */
const JOB_BODY_LIMIT = Math.ceil((UPLOAD_LIMITS.totalBytes * 4) / 3) + 1024 * 1024;

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/jobs',
    {
      config: { role: 'developer' },
      bodyLimit: JOB_BODY_LIMIT,
      schema: { body: JobRequest, response: { 202: JobRecord } },
    },
    async (request, reply) => {
      const identity = request.identity!;
      const job = await app.jobs.submit(request.body, {
        role: identity.role,
        owner: quotaOwner(identity),
      });
      request.log.child({ jobId: job.id }).info(
        {
          runtime: `${job.runtime.name}@${job.runtime.version}`,
          arch: job.arch,
          node: job.pinnedNode,
          state: job.state,
        },
        'job submitted',
      );
      return reply.status(202).send(job);
    },
  );
  r.get(
    '/v1/jobs',
    {
      config: { role: 'reader' },
      schema: { querystring: ListJobsQuery, response: { 200: ListJobsResponse } },
    },
    async (request) => ({ jobs: await app.jobs.list(request.query.limit, request.query.offset) }),
  );
  r.get(
    '/v1/jobs/:id',
    { config: { role: 'reader' }, schema: { params: JobIdParams, response: { 200: JobRecord } } },
    async (request) => app.jobs.get(request.params.id),
  );
  r.post(
    '/v1/jobs/:id/stop',
    {
      config: { role: 'developer' },
      schema: { params: JobIdParams, response: { 200: JobRecord } },
    },
    async (request) => {
      const job = await app.jobs.stop(request.params.id);
      request.log = request.log.child({ jobId: job.id });
      request.log.info({ state: job.state }, 'job stop requested');
      return job;
    },
  );
  r.post(
    '/v1/jobs/:id/cancel',
    {
      config: { role: 'developer' },
      schema: { params: JobIdParams, response: { 200: JobRecord } },
    },
    async (request) => {
      const job = await app.jobs.cancel(request.params.id);
      request.log = request.log.child({ jobId: job.id });
      request.log.info({ state: job.state }, 'job canceled');
      return job;
    },
  );
  r.get(
    '/v1/jobs/:id/logs',
    { config: { role: 'reader' }, schema: { params: JobIdParams } },
    async (request, reply) => {
      // 404 for an unknown job; a unique prefix becomes the job's id.
      const { id } = await app.jobs.get(request.params.id);
      request.log = request.log.child({ jobId: id });
      const follower = app.redis.duplicate();
      try {
        await sendSse(request, reply, (signal) =>
          followStream(app.redis, follower, app.keys.jobEvents(id), JobEvent, {
            afterId: lastEventId(request),
            signal,
            blockMs: 2_000,
            stop: (e) => e.type === 'end',
            finished: async () => {
              const job = await app.jobs.get(id).catch(() => undefined);
              return !job || FINAL_JOB_STATES.includes(job.state);
            },
          }),
        );
      } finally {
        follower.disconnect();
      }
    },
  );
};
export default route;
