/**
 * The node's own queue (`node-<name>`, see nodeQueueName): work pinned to this node. The job
 * kinds and their handlers come from the JobRunner (`run-job` for pinned jobs,
 * `volume-create`/`volume-remove`, and `runtime-test`, run as a job: see
 * jobs/runtime-test-job.ts); any other name fails at once (no retry).
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from '@joblet/logging';
import { nodeQueueName, type RedisClient } from '@joblet/queue';

export interface NodeQueueWorkerOptions {
  node: string;
  /** A connection for BullMQ (maxRetriesPerRequest: null); closed by `stop()`. */
  connection: RedisClient;
  prefix: string;
  log: Logger;
  /** Jobs at once. Default 2. */
  concurrency?: number;
  /** The job kinds served on this queue (the JobRunner's), by name. */
  handlers: Record<string, (job: Job) => Promise<unknown>>;
}

export class NodeQueueWorker {
  private worker: Worker | undefined;

  constructor(private readonly o: NodeQueueWorkerOptions) {}

  get queueName(): string {
    return nodeQueueName(this.o.node);
  }

  async start(): Promise<void> {
    const w = new Worker(this.queueName, (job: Job) => this.process(job), {
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

  private process(job: Job): Promise<unknown> {
    const handler = this.o.handlers[job.name];
    if (handler) return handler(job);
    return Promise.reject(new UnrecoverableError(`unknown job ${job.name} on ${this.queueName}`));
  }
}
