/**
 * `buildApp()` assembles the API without listening or touching signals, so tests construct it and
 * drive it through `app.inject()`; `index.ts` adds env, ports and shutdown.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '@joblet/logging';
import errors from './plugins/errors.js';
import roles from './plugins/roles.js';
import cancelBuild from './routes/builds/cancel.js';
import buildEvents from './routes/builds/events.js';
import readBuilds from './routes/builds/read.js';
import submitBuild from './routes/builds/submit.js';
import health from './routes/health.js';
import validate from './routes/runtimes/validate.js';
import readRuntimes from './routes/runtimes/read.js';
import manageRuntimes from './routes/runtimes/manage.js';
import readNodes from './routes/nodes/read.js';
import jobs from './routes/jobs/jobs.js';
import volumes from './routes/volumes.js';
import pools from './routes/pools.js';
import type { Services } from './services/services.js';

export interface BuildAppOptions {
  services: Services;
  logger?: Logger | false;
}

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: 64 * 1024,
    requestIdHeader: 'x-request-id',
    // On close, SSE streams are cut rather than waited for: clients resume with Last-Event-ID,
    // possibly on another replica.
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Order matters: error handling and the role check must wrap every route registered after them.
  await app.register(errors);
  await app.register(roles);

  const s = opts.services;
  await app.register(health);
  await app.register(validate(s));
  await app.register(submitBuild(s));
  await app.register(readBuilds(s));
  await app.register(cancelBuild(s));
  await app.register(buildEvents(s));
  await app.register(readRuntimes(s));
  await app.register(manageRuntimes(s));
  await app.register(readNodes(s));
  await app.register(jobs(s));
  await app.register(volumes(s));
  await app.register(pools(s));
  return app;
}
