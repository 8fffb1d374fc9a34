/**
 * The worker's status report in a real Redis: its arch and the free space of its real cache and
 * work dirs (statfs), listed by the reader while fresh, gone at once when the worker closes.
 */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@joblet/logging';
import { Keys, createRedisConnection, listWorkerStatuses } from '@joblet/queue';
import { makeTempDir, uniqueName } from '@joblet/testkit';
import { WorkerStatusReporter } from './worker-status-reporter.js';

const redis = createRedisConnection({ url: 'redis://127.0.0.1:6379' });
afterAll(() => redis.disconnect());

describe('WorkerStatusReporter', () => {
  it('reports the cache and work disks while running and removes its entry on close', async () => {
    const keys = new Keys(uniqueName('wstatus'));
    const tmp = await makeTempDir('wstatus-');
    const log = createLogger({ name: 'w', destination: { write: () => undefined } });
    const reporter = new WorkerStatusReporter(
      redis,
      keys,
      {
        name: 'w1',
        arch: 'amd64',
        cacheDir: tmp.path,
        workDir: join('/', 'tmp'),
      },
      log,
    );
    try {
      await reporter.start();
      const [status, ...others] = await listWorkerStatuses(redis, keys);
      expect(others).toEqual([]);
      expect(status?.name).toBe('w1');
      expect(status?.arch).toBe('amd64');
      const fs = await statfs(tmp.path);
      expect(status?.disks.cache.totalBytes).toBe(fs.blocks * fs.bsize);
      expect(status?.disks.cache.freeBytes).toBeGreaterThan(0);
      expect(status?.disks.work.freeBytes).toBeGreaterThan(0);
    } finally {
      await reporter.close();
      await tmp.cleanup();
    }
    expect(await listWorkerStatuses(redis, keys)).toEqual([]);
    expect(await redis.exists(keys.workers)).toBe(0);
  });
});
