/**
 * Gauges read from the farm at scrape time: per-arch build queues (the same figures as
 * `/v1/pools`), artifact bytes stored (summed from the index, recomputed at most every 30 s —
 * listing a large S3 index on every scrape would cost more than it tells), nodes and what each
 * reports per runtime, build workers' free disk, and whether Redis answers at all — when it does
 * not, every gauge read from it is left out of the scrape (rather than failing the whole scrape),
 * so `joblet_redis_up 0` reaches Prometheus and the alert on it can fire.
 */
import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { listWorkerStatuses, WORKER_DISKS, type Keys, type RedisClient } from '@joblet/queue';
import type { Arch, PoolView } from '@joblet/spec';
import { cached } from '../services/cached.js';
import type { NodeService } from '../services/node-service.js';
import { poolViews } from '../services/pools.js';
import type { RuntimeService } from '../services/runtime-service.js';

export const ARTIFACT_BYTES_CACHE_MS = 30_000;
/** How long a scrape waits for Redis's PING before it counts Redis as down (ms). */
export const REDIS_PING_TIMEOUT_MS = 1_000;

/** Where the gauges read the farm. */
export interface FarmGaugeSources {
  buildQueues: ReadonlyMap<Arch, Queue>;
  nodes: Pick<NodeService, 'list'>;
  runtimes: Pick<RuntimeService, 'entries'>;
  redis: RedisClient;
  keys: Keys;
}

/** True when Redis answers PING within {@link REDIS_PING_TIMEOUT_MS}. */
export async function redisAnswers(redis: RedisClient): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), REDIS_PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([redis.ping().then((r) => r === 'PONG'), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers the gauges; returns the scrape's Redis check (one PING per second at most), which
 * the route shares so that a scrape asks Redis once.
 */
export function registerFarmGauges(
  registry: Registry,
  s: FarmGaugeSources,
): () => Promise<boolean> {
  const redisUp = cached(1_000, () => redisAnswers(s.redis));
  // Every read below goes through Redis: with Redis down, the gauge is left empty.
  const whenUp =
    <T>(read: () => Promise<T[]>) =>
    async (): Promise<T[]> =>
      (await redisUp()) ? read() : [];
  // One read of the queues per scrape, shared by the four queue gauges.
  const pools = cached(
    1_000,
    whenUp(() => poolViews(s.buildQueues)),
  );
  const nodes = cached(
    1_000,
    whenUp(() => s.nodes.list()),
  );
  const workers = cached(
    1_000,
    whenUp(() => listWorkerStatuses(s.redis, s.keys)),
  );
  const artifactBytes = cached(ARTIFACT_BYTES_CACHE_MS, async () => {
    let n = 0;
    for (const e of await s.runtimes.entries())
      for (const a of Object.values(e.arches)) n += a?.size ?? 0;
    return n;
  });
  const poolGauge = (name: string, help: string, pick: (p: PoolView) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['arch'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const p of await pools()) this.set({ arch: p.arch }, pick(p));
      },
    });
  poolGauge(
    'joblet_build_queue_waiting',
    'Builds waiting for a worker, per arch.',
    (p) => p.waiting,
  );
  poolGauge('joblet_build_queue_active', 'Builds being built now, per arch.', (p) => p.active);
  poolGauge(
    'joblet_build_queue_oldest_waiting_seconds',
    'Age of the oldest waiting build, per arch (0 when none waits).',
    (p) => p.oldestWaitingAgeS,
  );
  poolGauge('joblet_build_workers', 'Live build workers, per arch.', (p) => p.workers);

  new Gauge({
    name: 'joblet_artifact_stored_bytes',
    help: 'Bytes of published runtime artifacts (sum over index entries; refreshed every 30 s).',
    registers: [registry],
    async collect() {
      this.reset();
      if (await redisUp()) this.set(await artifactBytes());
    },
  });
  new Gauge({
    name: 'joblet_redis_up',
    help: '1 when Redis answered this API’s PING during the scrape, else 0 (farm series are then absent).',
    registers: [registry],
    async collect() {
      this.set((await redisUp()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'joblet_worker_disk_free_bytes',
    help: 'Free bytes on a build worker’s cache and work disks (dir), as it last reported.',
    labelNames: ['worker', 'arch', 'dir'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const w of await workers())
        for (const dir of WORKER_DISKS)
          this.set({ worker: w.name, arch: w.arch, dir }, w.disks[dir].freeBytes);
    },
  });
  new Gauge({
    name: 'joblet_runtime_installs',
    help: 'Runtimes per node by install state (installed, syncing, failed, removing).',
    labelNames: ['node', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const n of await nodes()) {
        const counts = new Map<string, number>();
        for (const r of n.runtimes) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
        for (const [state, c] of counts) this.set({ node: n.name, state }, c);
      }
    },
  });
  new Gauge({
    name: 'joblet_node_up',
    help: '1 when the node’s agent sent a heartbeat recently, else 0.',
    labelNames: ['node', 'arch'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const n of await nodes()) this.set({ node: n.name, arch: n.arch }, n.online ? 1 : 0);
    },
  });
  new Gauge({
    name: 'joblet_node_disk_free_bytes',
    help: 'Free bytes on the node’s runtimes disk, as its last heartbeat reported.',
    labelNames: ['node'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const n of await nodes()) if (n.disk) this.set({ node: n.name }, n.disk.freeBytes);
    },
  });
  return redisUp;
}
