/**
 * infra/compose/redis/redis-secrets.sh, run for real, and a real redis-server started with the
 * ACL file it writes (as compose starts it): each app logs in with its password file and reaches
 * the farm's keys and channels only; `default` is the operator's; a second run keeps the
 * passwords; every file is readable by its owner only.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasRedisServer,
  makeTempDir,
  startRedisServer,
  type TempDir,
  type TestRedisServer,
} from '@joblet/testkit';
import { REPO } from './repo.js';

const SCRIPT = join(REPO, 'infra/compose/redis/redis-secrets.sh');
const runScript = (dir: string) =>
  spawnSync('sh', [SCRIPT], {
    env: { PATH: process.env.PATH, SECRETS_DIR: dir, QUEUE_PREFIX: 'farmx' },
    encoding: 'utf8',
  });

if (!hasRedisServer) console.warn('redis-secrets test skipped: redis-server is not installed');

describe.skipIf(!hasRedisServer)('redis-secrets.sh and redis-server --aclfile', () => {
  let tmp: TempDir;
  let server: TestRedisServer;
  const dir = () => join(tmp.path, 'secrets');
  const pw = (user: string) => readFileSync(join(dir(), `redis-${user}.password`), 'utf8').trim();

  beforeAll(async () => {
    tmp = await makeTempDir('redis-secrets-');
    const r = runScript(dir());
    expect(r.status, r.stderr).toBe(0);
    server = await startRedisServer({
      aclFile: join(dir(), 'users.acl'),
      ready: { username: 'default', password: pw('default') },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await tmp?.cleanup();
  });

  const as = async (user: string, password = pw(user)) => {
    const c = new Redis({
      port: server.port,
      host: '127.0.0.1',
      username: user,
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    await c.connect();
    return c;
  };

  it('writes the ACL file with hashes only, and files only their owner reads', () => {
    const acl = readFileSync(join(dir(), 'users.acl'), 'utf8');
    expect(
      acl
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[1]),
    ).toEqual(['default', 'api', 'worker', 'agent']);
    for (const user of ['default', 'api', 'worker', 'agent']) {
      expect(pw(user)).toMatch(/^[0-9a-f]{48}$/);
      expect(acl).not.toContain(pw(user));
      expect(statSync(join(dir(), `redis-${user}.password`)).mode & 0o777).toBe(0o400);
    }
    expect(statSync(join(dir(), 'users.acl')).mode & 0o777).toBe(0o400);
    // The rules are the ones infra/redis/users.acl.example documents, for this prefix.
    const example = readFileSync(join(REPO, 'infra/redis/users.acl.example'), 'utf8');
    for (const user of ['api', 'worker', 'agent']) {
      const rules = (text: string) =>
        text
          .split('\n')
          .find((l) => l.startsWith(`user ${user} `))!
          .split(' ')
          .slice(2)
          .filter((r) => !/^[>#]/.test(r))
          .map((r) => r.replace(/^([~&])[^:]+:/, '$1PREFIX:'));
      expect(rules(acl), user).toEqual(rules(example));
    }
  });

  it('lets each app reach the farm’s keys and channels only, and no dangerous command', async () => {
    for (const user of ['api', 'worker', 'agent']) {
      const c = await as(user);
      try {
        expect(await c.set(`farmx:${user}`, '1')).toBe('OK');
        await expect(c.set(`other:${user}`, '1')).rejects.toThrow(/NOPERM/);
        await expect(c.flushall()).rejects.toThrow(/NOPERM/);
        await expect(c.publish('elsewhere', 'x')).rejects.toThrow(/NOPERM/);
      } finally {
        c.disconnect();
      }
    }
    const admin = await as('default');
    expect(await admin.call('ACL', 'WHOAMI')).toBe('default');
    await expect(admin.call('AUTH', 'api', 'wrong')).rejects.toThrow(/WRONGPASS/);
    admin.disconnect();
  });

  it('keeps the passwords on a second run (restart), rewriting the ACL file', () => {
    const before = ['default', 'api', 'worker', 'agent'].map(pw);
    const r = runScript(dir());
    expect(r.status, r.stderr).toBe(0);
    expect(['default', 'api', 'worker', 'agent'].map(pw)).toEqual(before);
  });
});
