/**
 * The farm's clients as app decorators (the Fastify demo's "external" plugins): the Redis
 * connection and artifact store the caller opened (and closes, after the app), our key schema,
 * the farm's settings, and the BullMQ queues the API enqueues builds on — opened here, closed
 * when the app closes. Services are made from these in `farm-services.ts`, each with only what
 * it uses.
 */
import { FlowProducer, Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { DEFAULT_RUNTIME_NAME, type Arch, type BaseCatalog } from '@joblet/spec';
import { Keys, PUBLISH_QUEUE, buildQueueName, type RedisClient } from '@joblet/queue';
import type { ArtifactStore } from '@joblet/storage';
import { DEFAULT_QUOTAS, type QuotaLimits } from '../services/quota-service.js';
import { DEFAULT_RETENTION, type FarmRetention } from '../services/retention.js';

/** What the API is given: its two clients and the farm's settings. */
export interface FarmOptions {
  redis: RedisClient;
  store: ArtifactStore;
  /** BullMQ prefix and the prefix of our own Redis keys. */
  prefix: string;
  catalog: BaseCatalog;
  /** The architectures this farm has pools for; also the default for specs that name none. */
  architectures: Arch[];
  /** Retention of records and artifacts; default 7 days, 5 versions, bases 30 days. */
  retention?: FarmRetention;
  /** The runtime of jobs that name none (API_DEFAULT_RUNTIME); default DEFAULT_RUNTIME_NAME. */
  defaultRuntime?: string;
  /** Per-identity quotas (API_QUOTA_*); default DEFAULT_QUOTAS. */
  quotas?: QuotaLimits;
  /** The network of jobs that name none (API_DEFAULT_NETWORK); default `none`. */
  defaultNetwork?: string;
}

/** The farm's settings, as the routes and services read them. */
export interface FarmSettings {
  prefix: string;
  catalog: BaseCatalog;
  architectures: Arch[];
  retention: FarmRetention;
  quotas: QuotaLimits;
  defaultNetwork: string;
  defaultRuntime: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient;
    store: ArtifactStore;
    keys: Keys;
    settings: FarmSettings;
    /** One `build-<arch>` queue per pool. */
    buildQueues: ReadonlyMap<Arch, Queue>;
    publishQueue: Queue;
    /** Enqueues a build as one flow: the `publish` parent and a child per arch. */
    flows: FlowProducer;
  }
}

// eslint-disable-next-line @typescript-eslint/require-await
async function farmClients(
  app: FastifyInstance,
  // Nested: `prefix` at the top level of plugin options is Fastify's route prefix.
  { farm: opts }: { farm: FarmOptions },
): Promise<void> {
  const { redis, prefix } = opts;
  const buildQueues = new Map<Arch, Queue>(
    opts.architectures.map((arch) => [
      arch,
      new Queue(buildQueueName(arch), { connection: redis, prefix }),
    ]),
  );
  const publishQueue = new Queue(PUBLISH_QUEUE, { connection: redis, prefix });
  const flows = new FlowProducer({ connection: redis, prefix });
  app.decorate<RedisClient, 'redis'>('redis', redis);
  app.decorate('store', opts.store);
  app.decorate('keys', new Keys(prefix));
  app.decorate('settings', {
    prefix,
    catalog: opts.catalog,
    architectures: opts.architectures,
    retention: opts.retention ?? DEFAULT_RETENTION,
    quotas: opts.quotas ?? DEFAULT_QUOTAS,
    defaultNetwork: opts.defaultNetwork ?? 'none',
    defaultRuntime: opts.defaultRuntime ?? DEFAULT_RUNTIME_NAME,
  });
  app.decorate('buildQueues', buildQueues);
  app.decorate('publishQueue', publishQueue);
  app.decorate('flows', flows);
  // After the last request: the flow producer, then the queues. They share the caller's Redis
  // connection, which the caller closes.
  app.addHook('onClose', async () => {
    await flows.close();
    await Promise.all([...buildQueues.values(), publishQueue].map((q) => q.close()));
  });
}

export default fp(farmClients, { name: 'farm-clients' });
