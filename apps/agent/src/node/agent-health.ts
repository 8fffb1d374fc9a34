/**
 * The agent's probes and its work gate. Liveness (`/livez`) is the process answering, nothing
 * more: a Redis failover must not get agents restarted and their jobs killed. Readiness
 * (`/readyz`) is Redis answering PING and the store answering a read (the agent only reads it,
 * and must not create it); while it is not ready the agent takes no new jobs from its queues
 * (running jobs go on) and takes them again once it is.
 */
import type { Worker } from 'bullmq';
import { gateWork, readinessOf, startHealthServer, type Logger } from '@joblet/logging';
import type { RedisClient } from '@joblet/queue';
import type { ArtifactStore } from '@joblet/storage';

export interface AgentHealth {
  /** The port the probes are served on (undefined when none is configured). */
  port: number | undefined;
  /** Stops pausing and resuming: the first step of a shutdown. */
  stopGate(): void;
  close(): Promise<void>;
}

export async function startAgentHealth(o: {
  health: { host: string; port: number } | undefined;
  redis: RedisClient;
  store: ArtifactStore;
  /** The queue consumers to pause while not ready (read when the gate acts). */
  workers: () => (Worker | undefined)[];
  log: Logger;
}): Promise<AgentHealth> {
  const ready = readinessOf({
    // PING only on a connected client: a disconnected one would queue it until it is back.
    redis: () =>
      o.redis.status === 'ready'
        ? o.redis.ping()
        : Promise.reject(new Error(`redis ${o.redis.status}`)),
    store: () => o.store.exists('readyz-probe'),
  });
  const each = async (f: (w: Worker) => Promise<void>) => {
    await Promise.all(o.workers().flatMap((w) => (w ? [f(w)] : [])));
  };
  const stopGate = gateWork({
    ready,
    log: o.log,
    pause: () => each((w) => w.pause(true)),
    resume: () => each((w) => (w.closing ? Promise.resolve() : w.resume())),
  });
  const server = o.health ? await startHealthServer({ ...o.health, ready }) : undefined;
  if (server) o.log.info({ port: server.port }, 'probes served: /livez, /readyz');
  return {
    port: server?.port,
    stopGate,
    async close() {
      stopGate();
      await server?.close();
    },
  };
}
