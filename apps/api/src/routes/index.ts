/**
 * Every route of the API, one folder per resource: `routes/<resource>/index.ts` is the resource's
 * plugin (it registers the resource's other files, if any), and its tests sit beside it. Routes
 * take what they use from the app's decorators (`plugins/farm-clients.ts`,
 * `plugins/farm-services.ts`) and declare their role in `config.role`.
 */
import type { FastifyPluginAsync } from 'fastify';
import builds from './builds/index.js';
import dashboard from './dashboard/index.js';
import gc from './gc/index.js';
import health from './health/index.js';
import jobs from './jobs/index.js';
import metrics from './metrics/index.js';
import networks from './networks/index.js';
import nodes from './nodes/index.js';
import pools from './pools/index.js';
import runtimes from './runtimes/index.js';
import tokens from './tokens/index.js';
import ui from './ui/index.js';
import volumes from './volumes/index.js';

/** In the order they are registered (the order does not matter: no two share a path). */
export const ROUTES: readonly FastifyPluginAsync[] = [
  health,
  runtimes,
  builds,
  nodes,
  jobs,
  volumes,
  networks,
  pools,
  tokens,
  gc,
  metrics,
  dashboard,
  ui,
];
