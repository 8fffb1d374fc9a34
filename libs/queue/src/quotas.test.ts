// Quotas on real Redis (own prefix): reservations are atomic across clients (two API replicas
// cannot both take the last slot), and an end recorded by a JobStore frees the slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { JobRecord } from '@joblet/spec';
import { uniqueName } from '@joblet/testkit';
import { createRedis } from './connection.js';
import { JobStore } from './job-store.js';
import { Keys } from './names.js';
import { liveJobs, quotaCount, releaseQuota, reserveQuota } from './quotas.js';
import { deleteKeys } from './redis-client.js';

describe('quotas', () => {
  const keys = new Keys(uniqueName('quotas'));
  let a: Redis;
  let b: Redis;
  beforeAll(() => {
    a = createRedis({ url: 'redis://127.0.0.1:6379' });
    b = createRedis({ url: 'redis://127.0.0.1:6379' });
  });
  afterAll(async () => {
    await deleteKeys(a, `${keys.prefix}:*`);
    a.disconnect();
    b.disconnect();
  });

  it('gives exactly `limit` slots to 40 concurrent reservations from two clients', async () => {
    const allLive = (items: string[]) => Promise.resolve(items.map(() => true));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        reserveQuota(i % 2 ? a : b, keys, 'volumes', 'token:x', `n/v${i}`, 5, allLive),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok).every((r) => r.count === 5)).toBe(true);
    expect(await quotaCount(a, keys, 'volumes', 'token:x')).toBe(5);
    const held = await a.smembers(keys.quota('volumes', 'token:x'));
    await releaseQuota(b, keys, 'volumes', held[0]!);
    await releaseQuota(b, keys, 'volumes', held[0]!); // idempotent
    expect(await quotaCount(a, keys, 'volumes', 'token:x')).toBe(4);
    expect(await a.exists(keys.quotaOwner('volumes', held[0]!))).toBe(0);
  });

  it('frees a job’s slot when JobStore records its end, and prunes slots of vanished jobs', async () => {
    const store = new JobStore(a, keys);
    const record = (id: string): JobRecord => ({
      id,
      state: 'QUEUED',
      command: 'true',
      args: [],
      runtime: { ref: 'r', name: 'r', version: '1' },
      arch: 'amd64',
      network: 'none',
      limits: {},
      volumes: [],
      env: [],
      uploads: [],
      createdAt: new Date().toISOString(),
    });
    const live = liveJobs(a, keys);
    for (const id of ['j1', 'j2']) {
      expect((await reserveQuota(a, keys, 'jobs-active', 'cert:ci', id, 2, live)).ok).toBe(true);
      await store.create(record(id));
    }
    expect((await reserveQuota(a, keys, 'jobs-active', 'cert:ci', 'j3', 2, live)).ok).toBe(false);
    await store.transition('j1', 'CANCELED', { reason: 'canceled' });
    expect(await quotaCount(a, keys, 'jobs-active', 'cert:ci')).toBe(1);
    // j2's record disappears without an end being recorded (a crashed process, a flushed key).
    await a.del(keys.job('j2'));
    expect((await reserveQuota(a, keys, 'jobs-active', 'cert:ci', 'j3', 1, live)).ok).toBe(true);
    expect(await a.smembers(keys.quota('jobs-active', 'cert:ci'))).toEqual(['j3']);
  });
});
