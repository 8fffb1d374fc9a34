/**
 * The node's own queue (`node-<name>`, see nodeQueueName): work pinned to this node, the job
 * kinds of the protocol's NODE_QUEUE_JOBS, dispatched through a JobRegistry built with the
 * worker (a kind without a handler, or with two, stops the agent's start). `runtime-test` with
 * data `{ name, version }` is answered with `{ exitCode, output, durationMs, command, node }` —
 * what `rnx runtime test` shows; a runtime that is not installed here fails the job at once (no
 * retry). The handlers come from `handlers` (the JobRunner's: `run-job` for pinned jobs,
 * `volume-create`/`volume-remove`, and `runtime-test` run as a job); without a JobRunner, the
 * RuntimeTester answers runtime tests and the other kinds are refused.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from '@joblet/logging';
import {
  JobRegistry,
  NODE_QUEUE_JOBS,
  RUN_JOB,
  RUNTIME_TEST_JOB,
  VOLUME_CREATE_JOB,
  VOLUME_REMOVE_JOB,
  defineHandler,
  nodeQueueName,
  type JobHandler,
  type RedisClient,
} from '@joblet/queue';
import { AgentError } from './errors.js';
import type { RuntimeTester, RuntimeTestResult } from './runtime-tester.js';

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
  /** One handler per job kind of the queue (the JobRunner's); default: runtime tests only. */
  handlers?: readonly JobHandler[];
}

export class NodeQueueWorker {
  private worker: Worker | undefined;
  private readonly abort = new AbortController();
  private readonly registry: JobRegistry;

  /** @throws JobRegistryError when `handlers` leave a job kind of the queue without one. */
  constructor(private readonly o: NodeQueueWorkerOptions) {
    this.registry = new JobRegistry(NODE_QUEUE_JOBS, o.handlers ?? this.testerHandlers());
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

  /** Without a JobRunner: the RuntimeTester answers tests; jobs and volumes are refused. */
  private testerHandlers(): JobHandler[] {
    const refuse = (job: { name: string }) =>
      Promise.reject(new UnrecoverableError(`${job.name}: this agent runs no jobs`));
    return [
      defineHandler(RUNTIME_TEST_JOB, (_job, d) => this.test(d.name, d.version)),
      defineHandler(RUN_JOB, refuse),
      defineHandler(VOLUME_CREATE_JOB, refuse),
      defineHandler(VOLUME_REMOVE_JOB, refuse),
    ];
  }

  private async test(name: string, version: string): Promise<RuntimeTestJobResult> {
    try {
      const r = await this.o.tester.test(name, version, this.abort.signal);
      return { ...r, node: this.o.node };
    } catch (err) {
      // Not installed, being removed, invalid runtime: retrying does not help.
      if (err instanceof AgentError) throw new UnrecoverableError(`${err.code}: ${err.message}`);
      throw err;
    }
  }
}
