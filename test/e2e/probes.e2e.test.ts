/**
 * Probes that mean what they say, on a worker and an agent run as systemd runs them (`node
 * apps/<app>/dist/index.js`) against a Redis of the test's own: with Redis gone, liveness
 * (`/livez`) still answers 200 — nothing restarts them — while readiness (`/readyz`) answers 503
 * naming Redis and each stops taking new work; when Redis is back both are ready and take work
 * again, and neither process died on the way.
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  freePort,
  hasRedisServer,
  makeTempDir,
  startRestartableRedis,
  writeTestKeyPair,
  type RestartableRedis,
  type TempDir,
} from '@joblet/testkit';
import { startApp, type AppRun } from './app-process.js';

async function waitForOutput(run: AppRun, text: string, timeout = 90_000): Promise<void> {
  await vi.waitFor(() => expect(run.output(), 'the process output').toContain(text), {
    timeout,
    interval: 200,
  });
}

async function probe(port: number, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

describe.skipIf(!hasRedisServer)('worker and agent probes through a Redis outage', () => {
  let redis: RestartableRedis;
  let tmp: TempDir;
  const apps: { name: 'worker' | 'agent'; run: AppRun; port: number }[] = [];

  beforeAll(async () => {
    redis = await startRestartableRedis();
    tmp = await makeTempDir('probes-');
    await chmod(tmp.path, 0o755);
    const keys = writeTestKeyPair(join(tmp.path, 'keys'));
    const common = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'probes',
      STORAGE_URL: `file://${tmp.path}/store`,
    };
    const workerPort = await freePort();
    const agentPort = await freePort();
    const worker = startApp(
      'worker',
      {
        ...common,
        WORKER_ARCH: 'amd64',
        WORKER_SIGNING_KEY_FILE: keys.privateKeyFile,
        WORKER_CACHE_DIR: join(tmp.path, 'cache'),
        WORKER_WORK_DIR: join(tmp.path, 'work'),
        WORKER_HEALTH_PORT: String(workerPort),
        // No build runs here: the isolated network's start-up check (which resolves the package
        // mirrors) is not what this test is about.
        WORKER_BUILD_NETWORK: 'host',
      },
      600_000,
    );
    const agent = startApp(
      'agent',
      {
        ...common,
        AGENT_NAME: 'probe-node',
        AGENT_ARCH: 'amd64',
        AGENT_TRUSTED_KEYS: keys.publicKeyFile,
        AGENT_MIN_FREE_MB: '0',
        RUNTIMES_DIR: join(tmp.path, 'runtimes'),
        AGENT_WORK_DIR: join(tmp.path, 'jobs'),
        AGENT_HEALTH_PORT: String(agentPort),
      },
      600_000,
    );
    apps.push({ name: 'worker', run: worker, port: workerPort });
    apps.push({ name: 'agent', run: agent, port: agentPort });
    await waitForOutput(worker, 'worker started');
    await waitForOutput(agent, 'agent started');
  }, 180_000);

  afterAll(async () => {
    for (const a of apps) {
      a.run.kill('SIGTERM');
      await a.run.exited;
    }
    await redis?.stop();
    await tmp?.cleanup();
  }, 180_000);

  it('liveness stays 200 while readiness follows Redis down and back; nothing dies', async () => {
    for (const a of apps) {
      expect(await probe(a.port, '/livez'), a.name).toEqual({
        status: 200,
        body: { status: 'ok' },
      });
      await vi.waitFor(
        async () => {
          const ready = await probe(a.port, '/readyz');
          expect(ready.status, `${a.name}: ${JSON.stringify(ready.body)}`).toBe(200);
        },
        { timeout: 30_000, interval: 250 },
      );
    }

    await redis.kill();
    for (const a of apps) {
      await vi.waitFor(
        async () => {
          const ready = await probe(a.port, '/readyz');
          expect(ready.status, a.name).toBe(503);
          expect(ready.body).toMatchObject({ status: 'unavailable', down: ['redis'] });
        },
        { timeout: 30_000, interval: 250 },
      );
      // The process itself is fine: liveness does not ask Redis.
      expect((await probe(a.port, '/livez')).status, a.name).toBe(200);
      // And it takes no new work until Redis is back.
      await waitForOutput(a.run, 'not ready: taking no new work', 30_000);
    }

    await redis.start();
    for (const a of apps) {
      await vi.waitFor(
        async () => expect((await probe(a.port, '/readyz')).status, a.name).toBe(200),
        { timeout: 60_000, interval: 250 },
      );
      expect((await probe(a.port, '/livez')).status, a.name).toBe(200);
      await waitForOutput(a.run, 'ready again: taking work', 30_000);
    }
    // Neither process exited through the outage; each stops cleanly now.
    for (const a of apps) {
      a.run.kill('SIGTERM');
      expect(await a.run.exited, a.run.output()).toBe(0);
    }
  }, 300_000);
});
