/**
 * verifyRedis, duplicateRedis and scanKeys against real servers of the test's own: one
 * password-protected server and a three-master cluster.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_REDIS_PASSWORD as PASSWORD,
  freePort,
  hasRedisCli,
  hasRedisServer,
  startRedisCluster,
  startRedisServer,
  type TestCluster,
  type TestRedisServer,
} from '@joblet/testkit';
import { RedisConfigError, createRedisConnection, queuePrefix } from './connection.js';
import { deleteKeys, duplicateRedis, scanKeys } from './redis-client.js';
import { verifyRedis } from './redis-check.js';

describe.skipIf(!hasRedisServer)('verifyRedis on one server', () => {
  let server: TestRedisServer;
  let url = '';
  beforeAll(async () => {
    server = await startRedisServer();
    url = `redis://127.0.0.1:${server.port}`;
  });
  afterAll(() => server?.stop());

  it('passes with the right password, in the URL or beside it', async () => {
    expect(await verifyRedis({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}` })).toBe('ok');
    expect(await verifyRedis({ url, password: PASSWORD, prefix: 'joblet' })).toBe('ok');
  });

  it('refuses a wrong or missing password with a message naming REDIS_URL, never the password', async () => {
    const wrong = verifyRedis({ url: `redis://:hunter2@127.0.0.1:${server.port}` });
    await expect(wrong).rejects.toThrow(RedisConfigError);
    await expect(wrong).rejects.toThrow(
      /^REDIS_URL redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: Redis refused the credentials \(WRONGPASS/,
    );
    await expect(wrong).rejects.not.toThrow(/hunter2/);
    const asUser = verifyRedis({ url, username: 'worker', password: 'hunter2' });
    await expect(asUser).rejects.toThrow(/as user "worker": Redis refused the credentials/);
    await expect(verifyRedis({ url })).rejects.toThrow(/NOAUTH/);
  });

  it('leaves a server that does not answer to the app (it waits, as before)', async () => {
    const port = await freePort();
    const t0 = Date.now();
    expect(await verifyRedis({ url: `redis://127.0.0.1:${port}` }, 3_000)).toBe('unreachable');
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('duplicates a connection with its credentials, for BullMQ workers too', async () => {
    const redis = createRedisConnection({ url, password: PASSWORD });
    const copy = duplicateRedis(redis, { forWorker: true });
    try {
      expect(copy).toBeInstanceOf(Redis);
      expect((copy as Redis).options.maxRetriesPerRequest).toBeNull();
      expect(await copy.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
      copy.disconnect();
    }
  });
});

describe.skipIf(!hasRedisServer || !hasRedisCli)('on a cluster', () => {
  let nodes: TestCluster;
  beforeAll(async () => {
    nodes = await startRedisCluster();
  });
  afterAll(() => nodes?.stop());

  it('verifyRedis passes, or refuses a wrong password', async () => {
    const prefix = queuePrefix('check', true);
    expect(await verifyRedis({ url: nodes.url(PASSWORD), prefix })).toBe('ok');
    expect(await verifyRedis({ url: nodes.url(), password: PASSWORD, prefix })).toBe('ok');
    await expect(verifyRedis({ url: nodes.url('hunter2'), prefix })).rejects.toThrow(
      /^REDIS_URL redis-cluster:\/\/:\*\*\*@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+: Redis refused the credentials/,
    );
  });

  it('duplicates a cluster client, and scans and deletes keys on every master', async () => {
    const cluster = createRedisConnection({ url: nodes.url(PASSWORD) });
    const copy = duplicateRedis(cluster, { forWorker: true });
    try {
      expect(copy).toBeInstanceOf(Cluster);
      expect((copy as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
      expect((copy as Cluster).options.redisOptions?.password).toBe(PASSWORD);
      const keys = Array.from({ length: 40 }, (_, i) => `scan-test:${i}`);
      for (const k of keys) await copy.set(k, '1');
      expect((await scanKeys(cluster, 'scan-test:*')).sort()).toEqual([...keys].sort());
      expect(await deleteKeys(cluster, 'scan-test:*')).toBe(40);
      expect(await scanKeys(cluster, 'scan-test:*')).toEqual([]);
    } finally {
      cluster.disconnect();
      copy.disconnect();
    }
  });
});
