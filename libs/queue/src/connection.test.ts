import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import {
  TEST_REDIS_PASSWORD as PASSWORD,
  freePort,
  hasRedisCli,
  hasRedisServer,
  startRedisCluster,
  startRedisSentinel,
  until,
  type TestCluster,
  type TestSentinel,
} from '@joblet/testkit';
import {
  RedisConfigError,
  assertQueuePrefix,
  createRedis,
  createRedisCluster,
  createRedisConnection,
  hashTag,
  isClusterUrl,
  parseRedisUrl,
  queuePrefix,
  redactRedisUrl,
} from './connection.js';

describe('parseRedisUrl', () => {
  it('passes redis:// and rediss:// through to ioredis unchanged', () => {
    expect(parseRedisUrl('redis://:pw@10.0.0.1:6380/2')).toEqual({
      kind: 'standalone',
      url: 'redis://:pw@10.0.0.1:6380/2',
      tls: false,
    });
    expect(parseRedisUrl('rediss://cache.example:6380')).toMatchObject({ tls: true });
  });

  it('reads sentinels, master name, credentials, db and sentinel credentials', () => {
    expect(
      parseRedisUrl(
        'redis-sentinel://farm:p%40ss%3Aword@s1.example,s2.example:26380,[::1]:26381/farm-master' +
          '?db=3&sentinel_password=sp&sentinel_username=su',
      ),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1.example', port: 26379 },
        { host: 's2.example', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'farm-master',
      db: 3,
      tls: false,
      username: 'farm',
      password: 'p@ss:word',
      sentinelUsername: 'su',
      sentinelPassword: 'sp',
    });
    expect(parseRedisUrl('rediss-sentinel://:pw@h/m')).toMatchObject({
      tls: true,
      password: 'pw',
      db: 0,
    });
    expect(parseRedisUrl('rediss-sentinel://:pw@h/m')).not.toHaveProperty('username');
  });

  it('reads cluster seed nodes with the default port 6379', () => {
    expect(parseRedisUrl('redis-cluster://:pw@n1,n2:7001,n3:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 6379 },
        { host: 'n2', port: 7001 },
        { host: 'n3', port: 7002 },
      ],
      tls: false,
      password: 'pw',
    });
    expect(parseRedisUrl('rediss-cluster://n1')).toMatchObject({ tls: true });
  });

  it.each([
    ['http://h:6379', /expected redis:\/\//],
    ['redis-sentinel://h1,h2', /master name is missing/],
    ['redis-sentinel://h1:26379/', /master name is missing/],
    ['redis-sentinel:///mymaster', /no host given/],
    ['redis-sentinel://h1:99999/m', /port 99999/],
    ['redis-sentinel://h1,,h2/m', /"" is not host\[:port\]/],
    ['redis-sentinel://h1/m?db=16', /db "16"/],
    ['redis-sentinel://h1/m?sentinelpassword=x', /unknown parameter "sentinelpassword"/],
    ['redis-cluster://h1/0', /only database 0/],
    ['redis-cluster://h1?db=1', /unknown parameter "db"/],
  ])('rejects %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisConfigError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('never puts the password into an error message', () => {
    const url = 'redis-sentinel://admin:hunter2@h1:1:2/m';
    expect(() => parseRedisUrl(url)).toThrow(/admin:\*\*\*@/);
    expect(() => parseRedisUrl(url)).not.toThrow(/hunter2/);
    expect(redactRedisUrl('redis://:hunter2@h:1')).toBe('redis://:***@h:1');
    expect(redactRedisUrl('redis://h:1')).toBe('redis://h:1');
  });
});

describe('queue prefixes on a cluster', () => {
  it('finds the hash tag the way Redis Cluster does', () => {
    expect(hashTag('{joblet}')).toBe('joblet');
    expect(hashTag('farm{a}b{c}')).toBe('a');
    expect(hashTag('joblet')).toBeUndefined();
    expect(hashTag('{}joblet')).toBeUndefined();
    expect(hashTag('{joblet')).toBeUndefined();
  });

  it('hash-tags a prefix for a cluster and leaves it alone otherwise', () => {
    expect(queuePrefix('joblet', true)).toBe('{joblet}');
    expect(queuePrefix('{joblet}', true)).toBe('{joblet}');
    expect(queuePrefix('farm-{eu}', true)).toBe('farm-{eu}');
    expect(queuePrefix('joblet', false)).toBe('joblet');
    expect(() => queuePrefix('{}joblet', true)).toThrow(/braces but no hash tag/);
    expect(() => queuePrefix('', false)).toThrow(RedisConfigError);
  });

  it('makes an un-tagged prefix with a cluster URL an error that names the fix', () => {
    expect(isClusterUrl('redis-cluster://h')).toBe(true);
    expect(isClusterUrl('redis-sentinel://h/m')).toBe(false);
    expect(() => assertQueuePrefix('joblet', 'redis-cluster://:secret@h1,h2')).toThrow(
      /QUEUE_PREFIX="\{joblet\}".*same value on the API, every worker and every agent/s,
    );
    expect(() => assertQueuePrefix('joblet', 'redis-cluster://:secret@h1')).not.toThrow(/secret/);
    expect(() => assertQueuePrefix('{joblet}', 'redis-cluster://h1')).not.toThrow();
    expect(() => assertQueuePrefix('joblet', 'redis://h1')).not.toThrow();
    expect(() => createRedisCluster({ url: 'redis-cluster://h1', prefix: 'joblet' })).toThrow(
      RedisConfigError,
    );
  });

  it('keeps createRedis typed as Redis: a cluster URL is pointed at createRedisCluster', () => {
    expect(() => createRedis({ url: 'redis-cluster://h1' })).toThrow(/createRedisCluster/);
    expect(() => createRedisCluster({ url: 'redis://h1' })).toThrow(/createRedis\(\)/);
  });
});

describe('createRedis on one server', () => {
  it('connects with a plain redis:// URL, as before', async () => {
    const redis = createRedis({ url: 'redis://127.0.0.1:6379', forWorker: true });
    try {
      expect(await redis.ping()).toBe('PONG');
      expect(redis.options.maxRetriesPerRequest).toBeNull();
    } finally {
      redis.disconnect();
    }
  });
});

// ---- real Sentinel and Cluster: redis-server processes of our own, on free ports ----

describe.skipIf(!hasRedisServer)('createRedis through Redis Sentinel (real processes)', () => {
  let sentinel: TestSentinel;
  let sentinelPort = 0;
  let masterPort = 0;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    ({ sentinelPort, masterPort } = sentinel);
  });

  afterAll(async () => {
    await sentinel?.stop();
  });

  it('finds the master through the sentinel list (skipping a dead sentinel) and SET/GETs', async () => {
    const dead = await freePort(); // nothing listens there: ioredis must move on to the next one
    const url = `redis-sentinel://:${PASSWORD}@127.0.0.1:${dead},127.0.0.1:${sentinelPort}/farm-master?db=1`;
    const redis = createRedis({ url, forWorker: true });
    try {
      await redis.set('farm:sentinel-test', 'ok');
      expect(await redis.get('farm:sentinel-test')).toBe('ok');
      // It is the master (not a replica), on the port the sentinel named, in db 1.
      expect(((await redis.call('ROLE')) as unknown[])[0]).toBe('master');
      const direct = new Redis({ port: masterPort, password: PASSWORD, db: 1 });
      expect(await direct.get('farm:sentinel-test')).toBe('ok');
      direct.disconnect();
    } finally {
      redis.disconnect();
    }
  });

  it('fails on a wrong password (the credentials reach the master)', async () => {
    const url = `redis-sentinel://:wrong@127.0.0.1:${sentinelPort}/farm-master`;
    const redis = createRedis({ url });
    redis.on('error', () => undefined);
    try {
      await expect(redis.get('x')).rejects.toThrow(/WRONGPASS|invalid|NOAUTH/i);
    } finally {
      redis.disconnect();
    }
  });
});

describe.skipIf(!hasRedisServer || !hasRedisCli)('Redis Cluster (3 real masters)', () => {
  let nodes: TestCluster;
  let url = '';

  beforeAll(async () => {
    nodes = await startRedisCluster();
    url = nodes.url(PASSWORD);
  });

  afterAll(async () => {
    await nodes?.stop();
  });

  it('connects from seed nodes and reaches keys in every slot', async () => {
    const cluster = createRedisCluster({ url });
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `farm:cluster-test:${i}`);
      for (const k of keys) await cluster.set(k, k);
      for (const k of keys) expect(await cluster.get(k)).toBe(k);
      // The keys really are spread over the three masters.
      const slots = new Set(
        await Promise.all(
          keys.map((k) => cluster.call('CLUSTER', 'KEYSLOT', k) as Promise<number>),
        ),
      );
      expect(slots.size).toBeGreaterThan(3);
      expect(createRedisConnection({ url })).toBeInstanceOf(Cluster);
    } finally {
      cluster.disconnect();
    }
  });

  it('runs a BullMQ job with a hash-tagged prefix; an un-tagged one fails with CROSSSLOT', async () => {
    const prefix = queuePrefix(`farmtest${Date.now()}`, true);
    const producer = createRedisCluster({ url, prefix });
    const consumer = createRedisCluster({ url, prefix, forWorker: true });
    const eventsConn = createRedisCluster({ url, prefix, forWorker: true });
    const queue = new Queue('build-amd64', { connection: producer, prefix });
    const events = new QueueEvents('build-amd64', { connection: eventsConn, prefix });
    const worker = new Worker('build-amd64', (job) => Promise.resolve(`built ${job.data.n}`), {
      connection: consumer,
      prefix,
    });
    try {
      await events.waitUntilReady();
      await worker.waitUntilReady();
      const job = await queue.add('build-runtime', { n: 7 });
      // Poll the job itself: it is what the test is about (the prefix keeps a queue's keys in one
      // slot); generous, as a fresh cluster on a loaded 2-core machine can be slow to settle.
      await until(
        'the job to complete',
        async () => (await job.getState()) === 'completed',
        60_000,
      );
      expect((await Job.fromId(queue, job.id!))?.returnvalue).toBe('built 7');

      // What the prefix rule prevents: BullMQ's multi-key scripts across slots.
      const bare = `farmtest${Date.now()}`;
      expect(() => assertQueuePrefix(bare, url)).toThrow(RedisConfigError);
      const untagged = new Queue('build-amd64', { connection: producer, prefix: bare });
      await expect(untagged.add('build-runtime', { n: 1 })).rejects.toThrow(/CROSSSLOT/);
      await untagged.close();
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
      producer.disconnect();
      consumer.disconnect();
      eventsConn.disconnect();
    }
  }, 120_000);
});
