/**
 * The API's services as app decorators (the Fastify demo's "app" plugins). Each is constructed
 * here with exactly the clients and services it uses — no shared bag — so a service's
 * constructor says what it depends on, and services never import this file.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BuildStore, NetworkRegistry } from '@joblet/queue';
import { AuthKeys } from '../auth/auth-keys.js';
import { BuildService } from '../services/build-service.js';
import { DefaultRuntime } from '../services/default-runtime.js';
import type { FarmState } from '../services/farm-state.js';
import { liveFarmState } from '../services/farm-state.live.js';
import { GcService } from '../services/gc-service.js';
import { JobService } from '../services/job-service.js';
import { NodeAdmin } from '../services/node-admin.js';
import { NodeCalls } from '../services/node-calls.js';
import { NodeService } from '../services/node-service.js';
import { QuotaService } from '../services/quota-service.js';
import { RuntimeSbomService } from '../services/runtime-sbom.js';
import { RuntimeService } from '../services/runtime-service.js';
import { TokenService } from '../services/token-service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Custom job networks (farm-wide definitions and their jobs' addresses), in Redis. */
    networks: NetworkRegistry;
    /** Build records, events and the in-flight submissions, in Redis. */
    buildStore: BuildStore;
    /** Published runtimes and worker pools, for the server-side checks of `validate`. */
    farmState: FarmState;
    nodes: NodeService;
    /** Cordon, drain, uncordon and remove nodes (operators). */
    nodeAdmin: NodeAdmin;
    /** Calls to one node's agent through its queue (runtime tests, volumes), answered on close. */
    nodeCalls: NodeCalls;
    runtimes: RuntimeService;
    /** Runtimes' SBOMs and signed provenance, checked against their manifests. */
    runtimeSboms: RuntimeSbomService;
    builds: BuildService;
    jobs: JobService;
    gc: GcService;
    tokens: TokenService;
    /** Per-identity quotas (jobs, volumes, builds), counted in Redis. */
    quotas: QuotaService;
  }
}

/** How often drain deadlines are checked (ms). */
const DRAIN_SWEEP_MS = 5_000;

// eslint-disable-next-line @typescript-eslint/require-await
async function farmServices(app: FastifyInstance): Promise<void> {
  const { redis, store, keys, settings, buildQueues, publishQueue, flows } = app;
  const { retention } = settings;
  const buildStore = new BuildStore(redis, keys, retention.buildS, retention.failedBuildS);
  const nodes = new NodeService(redis, keys);
  const runtimes = new RuntimeService(store, redis, keys, nodes);
  const quotas = new QuotaService(redis, keys, settings.quotas);
  const networks = new NetworkRegistry(redis, keys);
  const builds = new BuildService({
    redis,
    keys,
    store,
    catalog: settings.catalog,
    architectures: settings.architectures,
    buildStore,
    buildQueues,
    publishQueue,
    flows,
    quotas,
  });
  const jobs = new JobService({
    redis,
    keys,
    prefix: settings.prefix,
    jobRetentionS: retention.jobS,
    runtimes,
    defaultRuntime: new DefaultRuntime(settings.defaultRuntime, runtimes, builds),
    nodes,
    quotas,
    networks,
    defaultNetwork: settings.defaultNetwork,
  });
  const nodeAdmin = new NodeAdmin({ redis, keys, nodes, jobs });
  app.decorate('nodeAdmin', nodeAdmin);
  // Drain deadlines: the jobs still running on a draining node whose deadline passed are stopped.
  const drainSweep = setInterval(() => {
    nodeAdmin
      .stopOverdue()
      .then((ids) => {
        if (ids.length > 0) app.log.info({ jobs: ids }, 'drain deadline: jobs stopped');
      })
      .catch((err: unknown) => app.log.warn({ err }, 'drain deadline sweep failed'));
  }, DRAIN_SWEEP_MS);
  drainSweep.unref();
  app.addHook('onClose', () => clearInterval(drainSweep));
  app.decorate('networks', networks);
  app.decorate('buildStore', buildStore);
  app.decorate('farmState', liveFarmState(store, buildQueues));
  app.decorate('nodes', nodes);
  app.decorate('runtimes', runtimes);
  app.decorate('runtimeSboms', new RuntimeSbomService(store, runtimes));
  app.decorate('builds', builds);
  app.decorate('jobs', jobs);
  app.decorate('gc', new GcService({ redis, keys, store, buildStore, runtimes, retention }));
  app.decorate('tokens', new TokenService(redis, new AuthKeys(settings.prefix), Date.now, app.log));
  app.decorate('quotas', quotas);
  const nodeCalls = new NodeCalls({ redis, prefix: settings.prefix });
  app.decorate('nodeCalls', nodeCalls);
  // Before the server cuts its connections: node calls still waiting answer 503 (retry) and take
  // their requests back from the nodes' queues, rather than vanish with the socket.
  app.addHook('preClose', () => nodeCalls.close());
  // The `jobs-<arch>` and `node-<name>` queues the job service opened on demand.
  app.addHook('onClose', () => jobs.close());
}

export default fp(farmServices, { name: 'farm-services', dependencies: ['farm-clients'] });
