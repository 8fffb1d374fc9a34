// untilRedisAnswers against a real Redis that goes away and comes back (a persistent server of
// the test's own, same port), and isRedisUnavailable on the errors ioredis really raises.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRestartableRedis, type RestartableRedis } from '@joblet/testkit';
import { createRedis } from './connection.js';
import { isRedisUnavailable, untilRedisAnswers } from './redis-retry.js';

describe('untilRedisAnswers', () => {
  let server: RestartableRedis;
  beforeAll(async () => {
    server = await startRestartableRedis();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('tells a dropped connection from an answer Redis gave', async () => {
    const closed = createRedis({ url: `redis://127.0.0.1:${await freePort()}` });
    closed.on('error', () => undefined);
    const down = await closed.get('k').catch((err: unknown) => err);
    closed.disconnect();
    expect(isRedisUnavailable(down)).toBe(true);

    const redis = createRedis({ url: server.url });
    try {
      await redis.set('retry:str', 'x');
      const wrongType = await redis.lpush('retry:str', 'y').catch((err: unknown) => err);
      expect(isRedisUnavailable(wrongType)).toBe(false);
      const badScript = await redis.eval('return nope(', 0).catch((err: unknown) => err);
      expect(isRedisUnavailable(badScript)).toBe(false);
      expect(isRedisUnavailable(new Error('invalid record'))).toBe(false);
    } finally {
      await redis.quit();
    }
  });

  it('writes through a 2 s Redis restart, and throws a real error at once', async () => {
    const redis = createRedis({ url: server.url });
    redis.on('error', () => undefined);
    try {
      await server.kill();
      const back = (async () => {
        await new Promise((r) => setTimeout(r, 2000));
        await server.start();
      })();
      let retries = 0;
      const id = await untilRedisAnswers(() => redis.incr('retry:counter'), {
        onRetry: () => retries++,
      });
      await back;
      expect(retries).toBeGreaterThan(0);
      expect(id).toBe(1);
      expect(await redis.get('retry:counter')).toBe('1');
      let calls = 0;
      await expect(
        untilRedisAnswers(() => {
          calls++;
          return redis.lpush('retry:counter', 'x');
        }),
      ).rejects.toThrow(/WRONGTYPE/);
      expect(calls).toBe(1);
    } finally {
      await redis.quit();
    }
  }, 30_000);
});
