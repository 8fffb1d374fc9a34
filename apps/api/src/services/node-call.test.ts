/**
 * Node calls hold no Redis connection after they answer: a thousand calls through a node's queue
 * (real Redis, a BullMQ consumer answering as the agent's node queue does) leave the API with the
 * connections it had before. Counted with `CLIENT LIST`, by the connection name this test gives
 * its client (duplicates inherit it; BullMQ names its own after the queue prefix).
 */
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VOLUME_CREATE_JOB,
  createRedisConnection,
  deleteKeys,
  duplicateRedis,
  nodeQueueName,
  queuePrefix,
  type RedisClient,
} from '@joblet/queue';
import { uniqueName } from '@joblet/testkit';
import { callNode } from './node-call.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('node calls', () => {
  const prefix = queuePrefix(uniqueName('nodecall'), false);
  let redis: RedisClient;
  let admin: RedisClient;
  let agent: Worker;

  /** Connections open on the server whose name is this test's (its clients and BullMQ's). */
  const ours = async (): Promise<number> => {
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    return list.split('\n').filter((l) => / name=\S/.test(l) && l.includes(` name=${prefix}`))
      .length;
  };

  beforeAll(async () => {
    // ioredis takes options from the URL's query: every duplicate carries the name.
    redis = createRedisConnection({ url: `${REDIS_URL}?connectionName=${prefix}`, prefix });
    admin = createRedisConnection({ url: REDIS_URL, prefix });
    agent = new Worker(nodeQueueName('node-a'), () => Promise.resolve({ ok: true }), {
      connection: duplicateRedis(redis, { forWorker: true }),
      prefix,
      concurrency: 50,
    });
    await agent.waitUntilReady();
    await redis.ping();
  });
  afterAll(async () => {
    await agent?.close();
    await deleteKeys(admin, `${prefix}:*`);
    redis?.disconnect();
    admin?.disconnect();
  });

  it('holds no Redis connection after a thousand calls', async () => {
    const before = await ours();
    expect(before).toBeGreaterThan(0); // the count sees this test's connections at all
    for (let batch = 0; batch < 50; batch++) {
      const calls = Array.from({ length: 20 }, (_, i) =>
        callNode(
          { redis, prefix },
          'node-a',
          VOLUME_CREATE_JOB,
          { name: `v${batch}-${i}` },
          30_000,
        ),
      );
      expect(await Promise.all(calls)).toEqual(calls.map(() => ({ ok: true })));
    }
    // Closing is asynchronous on the server's side too: give it a moment, never a fixed sleep.
    const deadline = Date.now() + 5000;
    let after = await ours();
    while (after > before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = await ours();
    }
    expect(after).toBe(before);
  }, 120_000);
});
