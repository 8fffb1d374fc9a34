/**
 * Redis with the farm's ACL file (infra/redis/users.acl.example, passwords replaced) on a server
 * of the test's own: the API, a worker and an agent each connect as their own user — the password
 * in the URL, in REDIS_PASSWORD_FILE and in REDIS_PASSWORD — and do real work; a user is confined
 * to the farm's prefix; a wrong password stops each real app process at start-up with a message
 * naming REDIS_URL and no password anywhere in its output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConfigError, verifyRedis } from '@joblet/queue';
import {
  freePort,
  hasRedisServer,
  makeTempDir,
  startRedisServer,
  writeTestKeyPair,
  type TempDir,
  type TestRedisServer,
} from '@joblet/testkit';
import { readAgentEnv } from '@joblet/agent/testing';
import { runHealthcheck } from '../../infra/docker/healthcheck.js';
import { startApp } from './app-process.js';
import { exerciseFarm, startRedisFarm, type RedisFarm } from './redis-farm.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PW = {
  api: 'api-pw-4f1c9e',
  worker: 'worker-pw-77a0d2',
  agent: 'agent-pw-c3b5e8',
  admin: 'admin-pw-19d4aa',
};

/** The example ACL with the test's passwords, plus an operator's user for the checks. */
function renderAcl(): string {
  const text = readFileSync(join(REPO, 'infra/redis/users.acl.example'), 'utf8').replace(
    />change-me-(api|worker|agent)\b/g,
    (_m, u: keyof typeof PW) => `>${PW[u]}`,
  );
  expect(text).not.toMatch(/change-me/);
  return `${text}user admin on >${PW.admin} ~* &* +@all\n`;
}

function client(server: TestRedisServer, username: string, password: string): Redis {
  const r = new Redis({
    port: server.port,
    host: '127.0.0.1',
    username,
    password,
    lazyConnect: true,
  });
  r.on('error', () => undefined);
  return r;
}

describe.skipIf(!hasRedisServer)('the farm on Redis with one ACL user per app', () => {
  let tmp: TempDir;
  let server: TestRedisServer;
  let farm: RedisFarm | undefined;
  let url = '';
  let admin: Redis;

  beforeAll(async () => {
    tmp = await makeTempDir('redis-acl');
    // The build sandboxes' root (host uid 100000) must be able to enter the work dir below it.
    await chmod(tmp.path, 0o755);
    const aclFile = join(tmp.path, 'users.acl');
    writeFileSync(aclFile, renderAcl(), { mode: 0o600 });
    server = await startRedisServer({ aclFile, ready: { username: 'admin', password: PW.admin } });
    url = `redis://127.0.0.1:${server.port}`;
    admin = client(server, 'admin', PW.admin);
    await admin.connect();
  });

  afterAll(async () => {
    await farm?.close();
    admin?.disconnect();
    await server?.stop();
    await tmp?.cleanup();
  });

  it('runs the API, a worker and an agent, each as its own user', async () => {
    const workerPwFile = join(tmp.path, 'worker-redis-password');
    writeFileSync(workerPwFile, `${PW.worker}\n`, { mode: 0o600 });
    farm = await startRedisFarm(
      {
        api: { REDIS_URL: `redis://api:${PW.api}@127.0.0.1:${server.port}` },
        worker: {
          REDIS_URL: url,
          REDIS_USERNAME: 'worker',
          REDIS_PASSWORD_FILE: workerPwFile,
          WORKER_HEALTH_PORT: String(await freePort()),
        },
        agent: {
          REDIS_URL: url,
          REDIS_USERNAME: 'agent',
          REDIS_PASSWORD: PW.agent,
          AGENT_HEALTH_PORT: String(await freePort()),
        },
      },
      'joblet', // the prefix the ACL file allows
    );
    await exerciseFarm(farm);
    // The containers' readiness checks: each app answers for Redis as its own user.
    expect(await runHealthcheck('worker', farm.envs.worker, 'ready')).toBe('worker: /readyz 200');
    expect(await runHealthcheck('agent', farm.envs.agent, 'ready')).toBe('agent: /readyz 200');
    const clients = String(await admin.call('CLIENT', 'LIST'));
    const users = new Set([...clients.matchAll(/ user=(\S+)/g)].map((m) => m[1]));
    expect([...users].sort()).toEqual(['admin', 'agent', 'api', 'worker']);
    // Nothing the farm did was refused (a refusal would be in the ACL log).
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
  }, 180_000);

  it('confines a farm user to the farm prefix: no other key, no other channel', async () => {
    await admin.set('other-app:secret', 'not for the farm');
    const agent = client(server, 'agent', PW.agent);
    try {
      await agent.connect();
      await agent.set('joblet:acl-test', 'ok');
      expect(await agent.get('joblet:acl-test')).toBe('ok');
      await expect(agent.get('other-app:secret')).rejects.toThrow(/NOPERM/);
      await expect(agent.publish('other-app:events', 'x')).rejects.toThrow(/NOPERM/);
      await expect(agent.call('CONFIG', 'GET', 'requirepass')).rejects.toThrow(/NOPERM/);
      await expect(agent.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
      const nobody = new Redis({ port: server.port, lazyConnect: true, maxRetriesPerRequest: 0 });
      nobody.on('error', () => undefined);
      await nobody.connect().catch(() => undefined);
      await expect(nobody.get('joblet:acl-test')).rejects.toThrow(/NOAUTH|WRONGPASS|NOPERM/);
      nobody.disconnect();
    } finally {
      await agent.del('joblet:acl-test').catch(() => undefined);
      agent.disconnect();
    }
  });

  it('refuses to start an app whose user may not use its QUEUE_PREFIX, naming REDIS_URL', async () => {
    const keys = writeTestKeyPair(join(tmp.path, 'keys'));
    const config = readAgentEnv({
      REDIS_URL: url,
      REDIS_USERNAME: 'agent',
      REDIS_PASSWORD: PW.agent,
      QUEUE_PREFIX: 'another-farm',
      AGENT_ARCH: 'amd64',
      AGENT_TRUSTED_KEYS: keys.publicKeyFile,
    });
    const check = verifyRedis({
      url: config.redisUrl,
      username: config.redisUsername,
      password: config.redisPassword,
      prefix: config.queuePrefix,
    });
    await expect(check).rejects.toThrow(RedisConfigError);
    await expect(check).rejects.toThrow(
      /^REDIS_URL redis:\/\/127\.0\.0\.1:\d+ as user "agent": the user's ACL refuses .*NOPERM.*"another-farm:"/,
    );
  });

  /** Starts an app with `env`; resolves with its exit code and output. */
  async function runApp(app: string, env: Record<string, string>) {
    const run = startApp(app, env, 60_000);
    return { code: await run.exited, output: run.output() };
  }

  it('stops each app at start-up on a wrong password: exit 78, REDIS_URL named, no password shown', async () => {
    const wrong = 'wrong-pw-d00dfeed';
    const pwFile = join(tmp.path, 'wrong-password');
    writeFileSync(pwFile, wrong, { mode: 0o600 });
    const keys = writeTestKeyPair(join(tmp.path, 'process-keys'));
    const common = { QUEUE_PREFIX: 'joblet', STORAGE_URL: `file://${join(tmp.path, 'store')}` };
    const runs = {
      api: await runApp('api', {
        ...common,
        REDIS_URL: `redis://api:${wrong}@127.0.0.1:${server.port}`,
      }),
      worker: await runApp('worker', {
        ...common,
        REDIS_URL: url,
        REDIS_USERNAME: 'worker',
        REDIS_PASSWORD_FILE: pwFile,
        WORKER_ARCH: 'amd64',
        WORKER_PUBLISH: 'false',
        WORKER_CACHE_DIR: join(tmp.path, 'cache'),
        WORKER_WORK_DIR: join(tmp.path, 'work'),
      }),
      agent: await runApp('agent', {
        ...common,
        REDIS_URL: url,
        REDIS_USERNAME: 'agent',
        REDIS_PASSWORD: wrong,
        AGENT_ARCH: 'amd64',
        AGENT_TRUSTED_KEYS: keys.publicKeyFile,
        RUNTIMES_DIR: join(tmp.path, 'runtimes'),
        AGENT_WORK_DIR: join(tmp.path, 'jobs'),
      }),
    };
    for (const [app, { code, output }] of Object.entries(runs)) {
      expect(code, `${app}: ${output}`).toBe(78);
      // The user is named (from the URL for the API, REDIS_USERNAME for the others).
      const who = app === 'api' ? 'redis://api:***@127.0.0.1:' : `as user "${app}"`;
      expect(output, app).toMatch(/REDIS_URL redis:\/\/(api:\*\*\*@)?127\.0\.0\.1:\d+/);
      expect(output, app).toContain('Redis refused the credentials');
      expect(output, app).toContain(who);
      for (const secret of [wrong, ...Object.values(PW)]) expect(output, app).not.toContain(secret);
    }
  }, 180_000);
});
