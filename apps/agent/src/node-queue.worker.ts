/**
 * The node's own queue (`node-<name>`, see nodeQueueName): work pinned to this node. For now one
 * job kind, `runtime-test` with data `{ name, version }`, answered with
 * `{ exitCode, output, durationMs, command, node }` — what `rnx runtime test` shows. A runtime
 * that is not installed here fails the job at once (no retry). Other kinds come from `handlers`
 * (the JobRunner's: `run-job` for pinned jobs, `volume-create`/`volume-remove`, and `runtime-test`
 * run as a job, which then replaces the RuntimeTester path).
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '@joblet/logging';
import { JOB_NAMES, nodeQueueName, type RedisClient } from '@joblet/queue';
import { AgentError } from './errors.js';
import type { RuntimeTester, RuntimeTestResult } from './runtime-tester.js';

export const RuntimeTestJobData = z.object({ name: z.string(), version: z.string() });
export type RuntimeTestJobData = z.infer<typeof RuntimeTestJobData>;

export type RuntimeTestJobResult = RuntimeTestResult & { node: string };

export interface NodeQueueWorkerOptions {
  node: string;
  /** A connection for BullMQ (maxRetriesPerRequest: null); closed by `stop()`. */
  connection: RedisClient;
  prefix: string;
  tester: RuntimeTester;
  log: Logger;
  /** Tests at once. Default 2. */
  concurrency?: number;
  /** Other job kinds served on this queue (`run-job`, `volume-*`: the JobRunner's), by name. */
  handlers?: Record<string, (job: Job) => Promise<unknown>>;
}

export class NodeQueueWorker {
  private worker: Worker | undefined;
  private readonly abort = new AbortController();

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

  /** Stops taking jobs; running tests get `deadlineMs`, then are aborted. */
  async stop(deadlineMs = 10_000): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const closing = w.close();
    const timer = setTimeout(() => this.abort.abort(new Error('agent stopping')), deadlineMs);
    try {
      await closing;
    } finally {
      clearTimeout(timer);
      await this.o.connection.quit().catch(() => this.o.connection.disconnect());
    }
  }

  private async process(job: Job): Promise<unknown> {
    const handler = this.o.handlers?.[job.name];
    if (handler) return handler(job);
    if (job.name !== JOB_NAMES.runtimeTest) {
      throw new UnrecoverableError(`unknown job ${job.name} on ${this.queueName}`);
    }
    const data = RuntimeTestJobData.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(`invalid runtime-test data`);
    try {
      const r = await this.o.tester.test(data.data.name, data.data.version, this.abort.signal);
      return { ...r, node: this.o.node };
    } catch (err) {
      // Not installed, being removed, invalid runtime: retrying does not help.
      if (err instanceof AgentError) throw new UnrecoverableError(`${err.code}: ${err.message}`);
      throw err;
    }
  }
}
