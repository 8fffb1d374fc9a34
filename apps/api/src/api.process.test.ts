/**
 * The built API (`node dist/index.js`) as a real process, as systemd runs it: SIGTERM with event
 * streams open and node calls waiting for an agent ends it within its promised 10 s, cleanly
 * (exit 0), each waiting request answered; a bad setting exits 78 (EX_CONFIG) with one line naming
 * the variable and no stack trace.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Keys,
  createRedisConnection,
  deleteKeys,
  nodeQueueName,
  queuePrefix,
  type RedisClient,
} from '@joblet/queue';
import { makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The shutdown deadline `src/index.ts` promises. */
const PROMISED_MS = 10_000;

const SPEC = `schema_version: "1.0"
name: sigterm-probe
version: 1.0.0
base:
  language: python
  version: "3.11"
`;

interface Api {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

function startApi(env: Record<string, string>): Api {
  const child = spawn(process.execPath, [join(appDir, 'dist/index.js')], {
    env: { PATH: process.env.PATH, API_AUTH: 'none', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  return { child, output: () => out, exited };
}

async function waitFor<T>(what: string, get: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the API process', () => {
  const prefix = queuePrefix(uniqueName('apiproc'), false);
  const keys = new Keys(prefix);
  let redis: RedisClient;
  let dir: TempDir;
  const running: Api[] = [];

  beforeAll(async () => {
    // The test runs what ships: the bundle (`npm run build` runs before the tests).
    if (!existsSync(join(appDir, 'dist/index.js'))) {
      execFileSync(process.execPath, ['../../scripts/build-app.mjs'], { cwd: appDir });
    }
    redis = createRedisConnection({ url: REDIS_URL, prefix });
    dir = await makeTempDir('api-proc-');
  });
  afterEach(() => {
    for (const a of running.splice(0)) if (a.child.exitCode === null) a.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    redis?.disconnect();
    await dir?.cleanup();
  });

  it('stops within 10 s on SIGTERM with event streams open and node calls in flight', async () => {
    const api = startApi({
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      STORAGE_URL: `file://${dir.path}/store`,
      API_PORT: '0',
    });
    running.push(api);
    const url = await waitFor('the API to listen', () =>
      /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(api.output())?.at(1),
    );
    const post = (path: string, body: object) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-joblet-request': '1' },
        body: JSON.stringify(body),
      });

    // A build no worker takes: its event stream stays open.
    const submitted = await post('/v1/builds', { spec: SPEC, filename: 'runtime.yaml' });
    expect(submitted.status).toBe(202);
    const buildId = ((await submitted.json()) as { build: { id: string } }).build.id;
    const streams = await Promise.all(
      [1, 2, 3].map(() => fetch(`${url}/v1/builds/${buildId}/events`)),
    );
    for (const s of streams) expect(s.status).toBe(200);
    const streamEnds = streams.map((s) =>
      s.text().then(
        () => 'ended',
        () => 'cut',
      ),
    );

    // A node no agent serves: volume calls wait in its queue for an answer.
    await redis.sadd(keys.nodes, 'node-gone');
    await redis.set(
      keys.node('node-gone'),
      JSON.stringify({
        name: 'node-gone',
        arch: 'amd64',
        labels: {},
        capacity: 2,
        agentVersion: '0.1.0',
        runtimesDir: '/opt/joblet/runtimes',
        startedAt: new Date().toISOString(),
        lastHeartbeat: new Date().toISOString(),
        disk: { freeBytes: 10e9, totalBytes: 20e9 },
      }),
    );
    const calls = ['a', 'b', 'c'].map((v) =>
      post('/v1/volumes', { name: v }).then(
        (r) => r.status,
        (err: unknown) => `no answer: ${String(err)}`,
      ),
    );
    await waitFor('three node calls queued', async () => {
      const waiting = await redis.llen(`${prefix}:${nodeQueueName('node-gone')}:wait`);
      return waiting >= 3 ? waiting : undefined;
    });

    const t0 = Date.now();
    api.child.kill('SIGTERM');
    const exit = await api.exited;
    const tookMs = Date.now() - t0;
    expect(tookMs).toBeLessThan(PROMISED_MS);
    // Exit 0: it closed everything itself, not cut short by its deadline (exit 1).
    expect(exit, api.output()).toEqual({ code: 0, signal: null });
    // Every caller got an answer: the node calls a 503 (retry), the streams their end.
    expect(await Promise.all(calls), api.output()).toEqual([503, 503, 503]);
    expect(await Promise.all(streamEnds)).toHaveLength(3);
    // No request is left for an agent that may come back much later.
    expect(await redis.llen(`${prefix}:${nodeQueueName('node-gone')}:wait`)).toBe(0);
  }, 60_000);

  it.each([
    ['STORAGE_URL', 'ftp://store'],
    ['STORAGE_URL', 's3://bucket:9000/x'],
    ['API_PORT', 'busy'],
  ])(
    'exits 78 naming %s=%s, without a stack trace',
    async (name, value) => {
      const busy = createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
      const port = String((busy.address() as { port: number }).port);
      try {
        const api = startApi({
          REDIS_URL,
          QUEUE_PREFIX: prefix,
          STORAGE_URL: `file://${dir.path}/store`,
          API_PORT: port,
          [name]: value === 'busy' ? port : value,
        });
        running.push(api);
        expect(await api.exited).toEqual({ code: 78, signal: null });
        const stderr = api
          .output()
          .split('\n')
          .filter((l) => l && !l.startsWith('{'));
        expect(stderr.join('\n')).toContain(`${name}: `);
        expect(stderr.join('\n')).not.toMatch(/^\s+at /m);
      } finally {
        busy.close();
      }
    },
    30_000,
  );
});
