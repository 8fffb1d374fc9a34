/**
 * The node's own queue (`node-<name>`, see nodeQueueName): work pinned to this node, the job
 * kinds of the protocol's NODE_QUEUE_JOBS dispatched through a JobRegistry. The handlers come
 * from the JobRunner (`run-job` for pinned jobs, `volume-create`/`volume-remove`, and
 * `runtime-test`, run as a job: see jobs/runtime-test-job.ts); a kind without a handler, or with
 * two, stops the agent's start; an unknown name or a bad payload fails at once (no retry).
 */
import { Worker } from 'bullmq';
import type { Logger } from '@joblet/logging';
import {
  JobRegistry,
  NODE_QUEUE_JOBS,
  nodeQueueName,
  type JobHandler,
  type RedisClient,
} from '@joblet/queue';

export interface NodeQueueWorkerOptions {
  node: string;
  /** A connection for BullMQ (maxRetriesPerRequest: null); closed by `stop()`. */
  connection: RedisClient;
  prefix: string;
  log: Logger;
  /** Jobs at once. Default 2. */
  concurrency?: number;
  /** One handler per job kind of the queue (the JobRunner's). */
  handlers: readonly JobHandler[];
}

export class NodeQueueWorker {
  private worker: Worker | undefined;
  private readonly registry: JobRegistry;

  /** @throws JobRegistryError when `handlers` leave a job kind of the queue without one. */
  constructor(private readonly o: NodeQueueWorkerOptions) {
    this.registry = new JobRegistry(NODE_QUEUE_JOBS, o.handlers);
  }

  /** The consumer of the node queue once started (the readiness gate pauses it). */
  get queueWorker(): Worker | undefined {
    return this.worker;
  }

  get queueName(): string {
    return nodeQueueName(this.o.node);
  }

  async start(): Promise<void> {
    const w = new Worker(this.queueName, this.registry.processor, {
      connection: this.o.connection,
      prefix: this.o.prefix,
      concurrency: this.o.concurrency ?? 2,
      name: this.o.node,
    });
    w.on('error', (err) => this.o.log.error({ err, queue: this.queueName }, 'node queue error'));
    this.worker = w;
    await w.waitUntilReady();
  }

  /**
   * Stops taking jobs and waits for the running ones; their deadline is the JobRunner's (its
   * `stop(deadlineMs)` ends them), so this has none of its own.
   */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    try {
      await w.close();
    } finally {
      await this.o.connection.quit().catch(() => this.o.connection.disconnect());
    }
  }
}
