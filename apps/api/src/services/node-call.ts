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
  const queue = new Queue(queueName, { connection: s.redis, prefix: s.prefix });
  // QueueEvents blocks on its connection, which BullMQ requires to retry forever.
  const events = new QueueEvents(queueName, {
    connection: duplicateRedis(s.redis, { forWorker: true }),
    prefix: s.prefix,
  });
  try {
    await events.waitUntilReady();
    const job = await enqueue(queue, kind, data);
    try {
      return await job.waitUntilFinished(events, timeoutMs);
    } catch (err) {
      // Don't leave the request queued for an agent that may come back much later.
      await job.remove().catch(() => undefined);
      throw new ApiError(
        503,
        'UNAVAILABLE',
        `${jobName} on node ${node} did not finish: ${(err as Error).message}`,
      );
    }
  } finally {
    await events.close();
    await queue.close();
  }
}
