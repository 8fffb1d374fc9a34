/**
 * The worker's probes and its work gate. Liveness (`/livez`) is the process answering, nothing
 * more: a Redis failover must not get workers restarted and their builds killed. Readiness
 * (`/readyz`) is Redis answering PING and the store being reachable; while it is not ready the
 * worker takes no new builds (those running go on) and takes them again once it is.
 */
import type { Worker } from 'bullmq';
import {
  gateWork,
  readinessOf,
  startHealthServer,
  type HealthServer,
  type Logger,
} from '@joblet/logging';
import type { RedisClient } from '@joblet/queue';
import type { ArtifactStore } from '@joblet/storage';
import type { WorkerConfig } from './env.js';

export interface WorkerHealth {
  /** Where the probes are served (undefined without WORKER_HEALTH_PORT). */
  server: HealthServer | undefined;
  /** Stops pausing and resuming: the first step of a shutdown. */
  stopGate(): void;
  close(): Promise<void>;
}

/** PING only on a connected client: a disconnected one would queue the command until it is back. */
export function pingRedis(redis: RedisClient): Promise<unknown> {
  return redis.status === 'ready'
    ? redis.ping()
    : Promise.reject(new Error(`redis ${redis.status}`));
}

export async function startWorkerHealth(o: {
  config: WorkerConfig;
  redis: RedisClient;
  store: ArtifactStore;
  workers: Worker[];
  log: Logger;
}): Promise<WorkerHealth> {
  const ready = readinessOf({
    redis: () => pingRedis(o.redis),
    store: () => o.store.ensureReady(),
  });
  const stopGate = gateWork({
    ready,
    log: o.log,
    pause: async () => {
      await Promise.all(o.workers.map((w) => w.pause(true)));
    },
    resume: async () => {
      await Promise.all(o.workers.filter((w) => !w.closing).map((w) => w.resume()));
    },
  });
  const server = o.config.health
    ? await startHealthServer({ ...o.config.health, ready })
    : undefined;
  if (server) o.log.info({ port: server.port }, 'probes served: /livez, /readyz');
  return {
    server,
    stopGate,
    async close() {
      stopGate();
      await server?.close();
    },
  };
}
