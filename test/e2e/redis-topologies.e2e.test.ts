/**
 * The apps beyond one Redis server, configured only through their environment: the API, an agent
 * and a build worker on a real three-master Redis Cluster (`redis-cluster://`, hash-tagged
 * QUEUE_PREFIX) and on a master found through a real Sentinel (`redis-sentinel://`), each doing
 * real work (node registration, a volume through the node queue, a build flow the worker takes).
 * An un-tagged prefix on the cluster stops every app at start-up, naming QUEUE_PREFIX.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_REDIS_PASSWORD,
  hasRedisCli,
  hasRedisServer,
  startRedisCluster,
  startRedisSentinel,
  uniqueName,
  type TestCluster,
  type TestSentinel,
} from '@joblet/testkit';
import { scanKeys } from '@joblet/queue';
import { readAgentEnv } from '@joblet/agent/testing';
import { readApiEnv } from '@joblet/api/testing';
import { readWorkerEnv } from '@joblet/worker/testing';
import { exerciseFarm, startRedisFarm, type RedisFarm } from './redis-farm.js';

const each = (env: Record<string, string>) => ({ api: env, worker: env, agent: env });

describe.skipIf(!hasRedisServer || !hasRedisCli)('the farm on Redis Cluster', () => {
  let cluster: TestCluster;
  let farm: RedisFarm | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await farm?.close();
    await cluster?.stop();
  });

  it('refuses an un-tagged QUEUE_PREFIX in every app, naming the fix', () => {
    const env = { REDIS_URL: cluster.url(TEST_REDIS_PASSWORD), QUEUE_PREFIX: 'joblet' };
    const fix =
      /QUEUE_PREFIX: queue prefix "joblet" is not hash-tagged.*QUEUE_PREFIX="\{joblet\}"/s;
    expect(() => readApiEnv(env)).toThrow(fix);
    expect(() => readWorkerEnv({ ...env, WORKER_PUBLISH: 'false' })).toThrow(fix);
    expect(() => readAgentEnv({ ...env, AGENT_ARCH: 'amd64' })).toThrow(fix);
    expect(() => readApiEnv(env)).not.toThrow(TEST_REDIS_PASSWORD);
  });

  it('runs the API, an agent and a worker with a hash-tagged prefix', async () => {
    // The password in a file, not in the URL: REDIS_PASSWORD_FILE works on a cluster too.
    const prefix = `{${uniqueName('cl')}}`;
    farm = await startRedisFarm(
      each({ REDIS_URL: cluster.url(), REDIS_PASSWORD: TEST_REDIS_PASSWORD }),
      prefix,
    );
    await exerciseFarm(farm);
    // Every key the farm wrote is in the prefix's one slot (on all masters: nothing elsewhere).
    const keys = await scanKeys(farm.api.redis, '*');
    expect(keys.length).toBeGreaterThan(5);
    const slots = await Promise.all(
      keys.map((k) => farm!.api.redis.call('CLUSTER', 'KEYSLOT', k) as Promise<number>),
    );
    expect(new Set(slots).size).toBe(1);
  }, 180_000);
});

describe.skipIf(!hasRedisServer)('the farm through Redis Sentinel', () => {
  let sentinel: TestSentinel;
  let farm: RedisFarm | undefined;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  });
  afterAll(async () => {
    await farm?.close();
    await sentinel?.stop();
  });

  it('runs the API, an agent and a worker on the master the sentinel names', async () => {
    farm = await startRedisFarm(
      each({ REDIS_URL: sentinel.url(TEST_REDIS_PASSWORD) }),
      uniqueName('sn'),
    );
    await exerciseFarm(farm);
    expect(((await farm.api.redis.call('ROLE')) as unknown[])[0]).toBe('master');
  }, 180_000);
});
