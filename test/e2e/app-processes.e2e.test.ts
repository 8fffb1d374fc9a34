/**
 * The three apps as systemd runs them (`node apps/<app>/dist/index.js`): a bad setting exits 78
 * (EX_CONFIG, what the units expect: no restart) with a line naming the variable and no stack
 * trace; SIGTERM of a started worker or agent ends it, cleanly, well within its promised deadline
 * (WORKER_SHUTDOWN_TIMEOUT_S + 90 s, AGENT_SHUTDOWN_TIMEOUT_S + 30 s). The API's own SIGTERM test,
 * with streams open and node calls in flight, is apps/api/src/api.process.test.ts.
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection, deleteKeys, queuePrefix } from '@joblet/queue';
import { makeTempDir, uniqueName, writeTestKeyPair, type TempDir } from '@joblet/testkit';
import { startApp, type AppRun } from './app-process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function waitForOutput(run: AppRun, text: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!run.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The lines that are not pino's JSON: what a person reads in the journal. */
const plainLines = (output: string) =>
  output.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

describe('app processes', () => {
  const prefix = queuePrefix(uniqueName('appproc'), false);
  let tmp: TempDir;
  let env: Record<'worker' | 'agent' | 'api', Record<string, string>>;

  beforeAll(async () => {
    tmp = await makeTempDir('app-proc-');
    // As /var/lib/joblet-farm is: the rootless build sandboxes must enter the work dir.
    await chmod(tmp.path, 0o755);
    const keys = writeTestKeyPair(join(tmp.path, 'keys'));
    const common = { REDIS_URL, QUEUE_PREFIX: prefix, STORAGE_URL: `file://${tmp.path}/store` };
    env = {
      api: { ...common, API_AUTH: 'none', API_PORT: '0' },
      worker: {
        ...common,
        WORKER_ARCH: 'amd64',
        WORKER_SIGNING_KEY_FILE: keys.privateKeyFile,
        WORKER_CACHE_DIR: join(tmp.path, 'cache'),
        WORKER_WORK_DIR: join(tmp.path, 'work'),
      },
      agent: {
        ...common,
        AGENT_NAME: 'proc-node',
        AGENT_ARCH: 'amd64',
        AGENT_TRUSTED_KEYS: keys.publicKeyFile,
        AGENT_MIN_FREE_MB: '0',
        RUNTIMES_DIR: join(tmp.path, 'runtimes'),
        AGENT_WORK_DIR: join(tmp.path, 'jobs'),
      },
    };
  });
  afterAll(async () => {
    const redis = createRedisConnection({ url: REDIS_URL, prefix });
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
    await tmp?.cleanup();
  });

  it.each([
    ['api', 'STORAGE_URL', 'ftp://store'],
    ['worker', 'STORAGE_URL', 'ftp://store'],
    ['agent', 'STORAGE_URL', 'ftp://store'],
    ['worker', 'STORAGE_URL', 's3://bucket:9000'],
    ['agent', 'STORAGE_URL', 's3://bucket:9000'],
  ] as const)(
    '%s with a bad %s (%s) exits 78 naming it',
    async (app, name, value) => {
      const run = startApp(app, { ...env[app], [name]: value });
      expect(await run.exited, run.output()).toBe(78);
      const lines = plainLines(run.output());
      expect(
        lines.some((l) => l.includes(`${name}: `)),
        run.output(),
      ).toBe(true);
      expect(run.output()).not.toMatch(/^\s+at /m); // no stack trace
    },
    60_000,
  );

  it.each([
    ['worker', 'worker started', 90_000],
    ['agent', 'agent started', 30_000],
  ] as const)(
    'a started %s stops on SIGTERM, exit 0, in time',
    async (app, started, promisedMs) => {
      const run = startApp(app, env[app]);
      await waitForOutput(run, started);
      const t0 = Date.now();
      run.kill('SIGTERM');
      expect(await run.exited, run.output()).toBe(0);
      // Idle, it has nothing to drain: far inside the promise (which adds the drain timeout).
      expect(Date.now() - t0).toBeLessThan(Math.min(promisedMs, 15_000));
    },
    120_000,
  );
});
