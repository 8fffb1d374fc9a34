/**
 * A request to one node's agent through that node's own queue, waiting for its answer: used for
 * runtime tests and volume management, which must happen on a particular node.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { z } from 'zod';
import {
  duplicateRedis,
  enqueue,
  nodeQueueName,
  type JobKind,
  type RedisClient,
} from '@joblet/queue';
import { ApiError } from '../plugins/errors.js';

/** The connection node queues are opened on, and their BullMQ prefix. */
export interface NodeQueueConnection {
  redis: RedisClient;
  prefix: string;
  /** Aborted when the API stops: a call still waiting answers 503 at once (see NodeCalls). */
  signal?: AbortSignal;
}

/** Adds a `kind` job (one of the node calls of the protocol) and waits for its result. */
export async function callNode<S extends z.ZodType>(
  s: NodeQueueConnection,
  node: string,
  kind: JobKind<S>,
  data: z.input<S>,
  timeoutMs: number,
): Promise<unknown> {
  const jobName = kind.name;
  const queueName = nodeQueueName(node);
  const unavailable = (why: string) =>
    new ApiError(503, 'UNAVAILABLE', `${jobName} on node ${node} did not finish: ${why}`);
  if (s.signal?.aborted) throw unavailable('the API is shutting down; retry');
  const queue = new Queue(queueName, { connection: s.redis, prefix: s.prefix });
  // QueueEvents blocks, so BullMQ opens (and closes) a copy of the connection it is given; that
  // one must retry forever, which the API's own does not, hence a duplicate as the template. The
  // template itself is ours to close: left open, each call leaked one Redis connection.
  const template = duplicateRedis(s.redis, { forWorker: true });
  const events = new QueueEvents(queueName, { connection: template, prefix: s.prefix });
  const stopping = abortOf(s.signal);
  try {
    await events.waitUntilReady();
    const job = await enqueue(queue, kind, data);
    try {
      return await Promise.race([job.waitUntilFinished(events, timeoutMs), stopping.promise]);
    } catch (err) {
      // Don't leave the request queued for an agent that may come back much later.
      await job.remove().catch(() => undefined);
      throw unavailable((err as Error).message);
    }
  } finally {
    stopping.dispose();
    await events.close();
    await queue.close();
    template.disconnect();
  }
}

/** A promise that rejects when `signal` aborts, and the way to stop listening. */
function abortOf(signal: AbortSignal | undefined): { promise: Promise<never>; dispose(): void } {
  let onAbort = () => undefined as void;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('the API is shutting down; retry'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined); // raced or never used: not an unhandled rejection
  return { promise, dispose: () => signal?.removeEventListener('abort', onAbort) };
}
