import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uniqueName } from '@joblet/testkit';
import { createRedis } from './connection.js';
import { appendEvent, followStream } from './event-stream.js';

const Ev = z.object({ n: z.number() });

describe('followStream', () => {
  const redis = createRedis({ url: 'redis://127.0.0.1:6379' });
  const follower = redis.duplicate();
  const key = `${uniqueName('stream')}:events`;
  afterAll(async () => {
    await redis.del(key);
    follower.disconnect();
    redis.disconnect();
  });

  it('moves past entries that do not decode, in replay and while following', async () => {
    await appendEvent(redis, key, { n: 1 });
    await redis.xadd(key, '*', 'e', '{not json');
    await redis.xadd(key, '*', 'e', JSON.stringify({ other: true }));
    await appendEvent(redis, key, { n: 2 });
    const seen: number[] = [];
    const follow = (async () => {
      for await (const { event } of followStream(redis, follower, key, Ev, {
        blockMs: 200,
        stop: (e) => e.n === 4,
      })) {
        seen.push(event.n);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await redis.xadd(key, '*', 'e', 'garbage');
    await appendEvent(redis, key, { n: 3 });
    await appendEvent(redis, key, { n: 4 });
    await follow;
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});
