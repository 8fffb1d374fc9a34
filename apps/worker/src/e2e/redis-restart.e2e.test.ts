/**
 * Redis is the only coordination point: builds queued in a Redis with AOF survive its restart and
 * each completes exactly once (one `done`, one `runtime.published`, one artifact).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, readAfter } from '@joblet/queue';
import { FarmEvent } from '@joblet/spec';
import { createArtifactStore, indexKey, type ArtifactStore } from '@joblet/storage';
import { makeTempDir, type TempDir, freePort, writeTestKeyPair } from '@joblet/testkit';
import type { Redis } from 'ioredis';
import { readWorkerEnv } from '../env.js';
import { createWorker, type FarmWorker } from '../worker.js';
import { buildEvents, enqueueBuild, waitForEvent } from '../test-support/flow.js';
import { E2E_MISSING, pySpec } from '../test-support/worker-fixture.js';

describe.skipIf(E2E_MISSING.length > 0)(
  `Redis restart with builds queued (needs ${E2E_MISSING.join(', ') || 'nothing missing'})`,
  () => {
    let tmp: TempDir;
    let port: number;
    let server: ChildProcess | undefined;
    let redis: Redis | undefined;
    let store: ArtifactStore;
    let worker: FarmWorker | undefined;
    const prefix = 'restart';

    const startRedis = async () => {
      server = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          join(tmp.path, 'redis'),
          '--appendonly',
          'yes',
          '--appendfsync',
          'everysec',
          '--save',
          '',
        ],
        { stdio: 'ignore' },
      );
      const probe = createRedis({ url: `redis://127.0.0.1:${port}` });
      for (let i = 0; i < 100; i++) {
        if (
          await probe.ping().then(
            () => true,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
      probe.disconnect();
    };
    const stopRedis = async () => {
      const p = server;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM'); // a clean shutdown: the AOF is flushed
      await exited;
    };

    beforeAll(async () => {
      tmp = await makeTempDir('redis-restart-');
      await chmod(tmp.path, 0o755);
      await import('node:fs/promises').then((fs) => fs.mkdir(join(tmp.path, 'redis')));
      port = await freePort();
      await startRedis();
      redis = createRedis({ url: `redis://127.0.0.1:${port}` });
      store = createArtifactStore(`file://${tmp.path}/store`);
    });
    afterAll(async () => {
      await worker?.close({ deadlineMs: 5_000 });
      redis?.disconnect();
      await store?.close();
      await stopRedis();
      await tmp?.cleanup();
    });

    it('keeps queued builds across a restart and completes each exactly once', async () => {
      const a = await enqueueBuild(
        redis!,
        prefix,
        pySpec('apt: [python3-six]\n', '1.0.0', 'restart-a'),
      );
      const b = await enqueueBuild(
        redis!,
        prefix,
        pySpec('apt: [python3-six]\n', '1.0.0', 'restart-b'),
      );
      // Nothing runs yet. Restart Redis with both builds queued.
      redis!.disconnect();
      await stopRedis();
      await startRedis();
      redis = createRedis({ url: `redis://127.0.0.1:${port}` });
      expect(
        await redis.exists(new Keys(prefix).build(a.buildId), new Keys(prefix).build(b.buildId)),
      ).toBe(2);

      const config = readWorkerEnv({
        REDIS_URL: `redis://127.0.0.1:${port}`,
        QUEUE_PREFIX: prefix,
        STORAGE_URL: `file://${tmp.path}/store`,
        WORKER_WORK_DIR: `${tmp.path}/work`,
        WORKER_NAME: 'restart-worker',
        LOG_LEVEL: 'warn',
        WORKER_SIGNING_KEY_FILE: writeTestKeyPair(`${tmp.path}/keys`).privateKeyFile,
      });
      worker = await createWorker(config);
      for (const x of [a, b]) {
        await waitForEvent(redis, prefix, x.buildId, undefined, 300_000);
        const events = await buildEvents(redis, prefix, x.buildId);
        expect(events.filter((e) => e.type === 'done')).toEqual([
          { type: 'done', state: 'succeeded' },
        ]);
        expect(await store.exists(indexKey(x.name, x.version))).toBe(true);
      }
      const published = (await readAfter(redis, new Keys(prefix).farmEvents, FarmEvent)).map(
        (e) => e.event,
      );
      expect(
        published
          .filter((e) => e.type === 'runtime.published')
          .map((e) => e.name)
          .sort(),
      ).toEqual(['restart-a', 'restart-b']);
    }, 600_000);
  },
);
