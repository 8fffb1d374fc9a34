/**
 * The clients and services the API's routes use, created once per process (or per test) and
 * closed in a fixed order. The API keeps no state of its own: everything is in Redis or the store,
 * so any replica can answer any request (and an SSE client can resume on another replica).
 */
import { FlowProducer, Queue } from 'bullmq';
import type { Arch, BaseCatalog } from '@joblet/spec';
import { BuildStore, Keys, PUBLISH_QUEUE, buildQueueName, type RedisClient } from '@joblet/queue';
import type { ArtifactStore } from '@joblet/storage';
import { BuildService } from './build-service.js';
import { GcService } from './gc-service.js';
import { JobService } from './job-service.js';
import { NodeService } from './node-service.js';
import { RuntimeService } from './runtime-service.js';
import type { FarmState } from './farm-state.js';
import { liveFarmState } from './farm-state.live.js';
import { DEFAULT_RETENTION, type FarmRetention } from './retention.js';

export interface ServicesOptions {
  redis: RedisClient;
  store: ArtifactStore;
  /** BullMQ prefix and the prefix of our own Redis keys. */
  prefix: string;
  catalog: BaseCatalog;
  /** The architectures this farm has pools for; also the default for specs that name none. */
  architectures: Arch[];
  /** Retention of records and artifacts; default 7 days, 5 versions, bases 30 days. */
  retention?: FarmRetention;
}

export interface Services {
  redis: RedisClient;
  store: ArtifactStore;
  keys: Keys;
  prefix: string;
  catalog: BaseCatalog;
  architectures: Arch[];
  buildStore: BuildStore;
  buildQueues: Map<Arch, Queue>;
  publishQueue: Queue;
  flows: FlowProducer;
  farm: FarmState;
  builds: BuildService;
  nodes: NodeService;
  runtimes: RuntimeService;
  jobs: JobService;
  gc: GcService;
  retention: FarmRetention;
  close(): Promise<void>;
}

export function createServices(opts: ServicesOptions): Services {
  const keys = new Keys(opts.prefix);
  const retention = opts.retention ?? DEFAULT_RETENTION;
  const buildStore = new BuildStore(opts.redis, keys, retention.buildS, retention.failedBuildS);
  const buildQueues = new Map<Arch, Queue>(
    opts.architectures.map((arch) => [
      arch,
      new Queue(buildQueueName(arch), { connection: opts.redis, prefix: opts.prefix }),
    ]),
  );
  const publishQueue = new Queue(PUBLISH_QUEUE, { connection: opts.redis, prefix: opts.prefix });
  const flows = new FlowProducer({ connection: opts.redis, prefix: opts.prefix });
  const farm = liveFarmState(opts.store, buildQueues);
  const nodes = new NodeService(opts.redis, keys);
  const runtimes = new RuntimeService(opts.store, opts.redis, keys, nodes);
  const services: Services = {
    ...opts,
    retention,
    keys,
    buildStore,
    buildQueues,
    publishQueue,
    flows,
    farm,
    nodes,
    runtimes,
    builds: undefined as unknown as BuildService,
    jobs: undefined as unknown as JobService,
    gc: undefined as unknown as GcService,
    async close() {
      // Queues and the flow producer share the caller's Redis connection; the caller closes it.
      await services.jobs.close();
      await flows.close();
      await Promise.all([...buildQueues.values(), publishQueue].map((q) => q.close()));
    },
  };
  services.builds = new BuildService(services);
  services.jobs = new JobService(services);
  services.gc = new GcService(services);
  return services;
}
