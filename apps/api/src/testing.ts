/**
 * Test fixtures for the API: real Redis (127.0.0.1:6379, or REDIS_URL) under a prefix of the
 * test's own, and a real directory store in a temp dir. Never mocks.
 */
import { builtinCatalog, type Arch } from '@joblet/spec';
import { createRedis } from '@joblet/queue';
import { createArtifactStore, type ArtifactStore } from '@joblet/storage';
import { makeTempDir, uniqueName } from '@joblet/testkit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApp } from './app.js';
import { createServices, type Services } from './services/services.js';

export interface TestApi {
  app: FastifyInstance;
  services: Services;
  redis: Redis;
  store: ArtifactStore;
  prefix: string;
  close(): Promise<void>;
}

export async function startTestApi(architectures: Arch[] = ['amd64', 'arm64']): Promise<TestApi> {
  const prefix = uniqueName('api');
  const redis = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  const dir = await makeTempDir('api-store-');
  const store = createArtifactStore(`file://${dir.path}`);
  await store.ensureReady();
  const services = createServices({ redis, store, prefix, catalog: builtinCatalog, architectures });
  const app = await buildApp({ services, logger: false });
  await app.ready();
  return {
    app,
    services,
    redis,
    store,
    prefix,
    async close() {
      await app.close();
      await services.close();
      await deleteKeys(redis, `${prefix}:*`);
      redis.disconnect();
      await store.close();
      await dir.cleanup();
    },
  };
}

/** Removes every key matching `pattern` (SCAN, never KEYS). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length) n += await redis.del(...keys);
  } while (cursor !== '0');
  return n;
}
