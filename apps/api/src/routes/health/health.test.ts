/**
 * `/healthz` answers whatever the dependencies do; `/readyz` reflects Redis and the store for
 * real: a Redis connection that has been closed, a store whose directory cannot be created.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinCatalog } from '@joblet/spec';
import { createRedis } from '@joblet/queue';
import { createArtifactStore } from '@joblet/storage';
import { makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import { buildApp } from '../../app.js';
import { startTestApi, type TestApi } from '../../testing.js';

describe('/healthz and /readyz', () => {
  let t: TestApi;
  let tmp: TempDir;
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
    tmp = await makeTempDir('readyz-');
  });
  afterAll(async () => {
    await t.close();
    await tmp.cleanup();
  });

  it('ready when Redis and the store answer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      down: [],
      checks: { redis: { ok: true }, store: { ok: true } },
    });
  });

  it('503 naming Redis when it does not answer, and the store when it is unusable; liveness stays 200', async () => {
    // A file where the store's directory should be: ensureReady cannot create it.
    const blocker = join(tmp.path, 'not-a-dir');
    await writeFile(blocker, 'x');
    const store = createArtifactStore(`file://${blocker}/store`);
    const redis = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    const app = await buildApp({
      redis,
      store,
      prefix: uniqueName('readyz'),
      catalog: builtinCatalog,
      architectures: ['amd64'],
      logger: false,
    });
    redis.disconnect(); // Redis is gone from here on: commands fail
    try {
      const started = Date.now();
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(res.statusCode).toBe(503);
      const body = res.json();
      expect(body.status).toBe('unavailable');
      expect(body.down).toEqual(['redis', 'store']);
      expect(body.checks.redis.ok).toBe(false);
      expect(body.checks.store.error).toEqual(expect.any(String));
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close().catch(() => undefined);
      await store.close();
    }
  });
});
