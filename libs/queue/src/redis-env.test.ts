import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { RedisUrlEnv, resolveRedisEnv, type RedisEnvVars } from './redis-env.js';

const vars = (v: Partial<RedisEnvVars>): RedisEnvVars => ({
  REDIS_URL: 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: 'joblet',
  ...v,
});

describe('REDIS_URL', () => {
  it.each([
    'redis://127.0.0.1:6379',
    'rediss://:pw@cache.example:6380/2',
    'redis-sentinel://s1,s2:26380/farm-master?db=1&sentinel_password=sp',
    'rediss-sentinel://s1/m',
    'redis-cluster://n1,n2:7001',
    'rediss-cluster://user:pw@n1',
  ])('accepts %s', (url) => {
    expect(RedisUrlEnv.parse(url)).toBe(url);
  });

  it.each([
    ['http://h:6379', /expected redis:\/\//],
    ['redis-sentinel://h1,h2', /master name is missing/],
    ['redis-cluster://h1/0', /only database 0/],
    ['redis://:secret@h:99999', /not a valid URL/],
  ])('refuses %s, saying why and without the password', (url, why) => {
    const r = RedisUrlEnv.safeParse(url);
    expect(r.success).toBe(false);
    const message = r.error!.issues[0]!.message;
    expect(message).toMatch(why);
    expect(message).not.toContain('secret');
  });

  it('defaults to the local server', () => {
    expect(RedisUrlEnv.parse(undefined)).toBe('redis://127.0.0.1:6379');
  });
});

describe('resolveRedisEnv', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('redis-env');
  });
  afterAll(() => tmp.cleanup());

  it('takes the URL as it is when it carries the credentials', () => {
    expect(resolveRedisEnv(vars({ REDIS_URL: 'redis://worker:pw@h:6379' }))).toEqual({
      redis: { url: 'redis://worker:pw@h:6379' },
      issues: [],
    });
  });

  it('adds REDIS_USERNAME and REDIS_PASSWORD, or the password from REDIS_PASSWORD_FILE', () => {
    expect(resolveRedisEnv(vars({ REDIS_USERNAME: 'agent', REDIS_PASSWORD: 'pw' })).redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      username: 'agent',
      password: 'pw',
    });
    const file = join(tmp.path, 'redis-password');
    writeFileSync(file, 'from-file\n', { mode: 0o600 });
    expect(
      resolveRedisEnv(
        vars({ REDIS_URL: 'redis-cluster://n1', QUEUE_PREFIX: '{j}', REDIS_PASSWORD_FILE: file }),
      ).redis,
    ).toEqual({ url: 'redis-cluster://n1', password: 'from-file' });
  });

  it('refuses a value given in two places, naming the variable', () => {
    const file = join(tmp.path, 'pw2');
    writeFileSync(file, 'x');
    expect(
      resolveRedisEnv(vars({ REDIS_PASSWORD: 'a', REDIS_PASSWORD_FILE: file })).issues,
    ).toEqual([
      {
        path: 'REDIS_PASSWORD_FILE',
        message: 'set REDIS_PASSWORD or REDIS_PASSWORD_FILE, not both',
      },
    ]);
    const both = resolveRedisEnv(
      vars({ REDIS_URL: 'redis://u:secret@h', REDIS_USERNAME: 'v', REDIS_PASSWORD: 'other' }),
    ).issues;
    expect(both.map((i) => i.path)).toEqual(['REDIS_USERNAME', 'REDIS_PASSWORD']);
    expect(both[1]!.message).toBe(
      'REDIS_URL (redis://u:***@h) already carries a password: give it in one place',
    );
    const sentinel = resolveRedisEnv(
      vars({ REDIS_URL: 'redis-sentinel://:secret@s1/m', REDIS_PASSWORD_FILE: file }),
    );
    expect(sentinel.issues.map((i) => i.path)).toEqual(['REDIS_PASSWORD_FILE']);
    expect(JSON.stringify(sentinel)).not.toMatch(/REDIS_URL[^"]*secret/);
  });

  it('names an unreadable or empty password file without reading it out', () => {
    const missing = join(tmp.path, 'missing');
    expect(resolveRedisEnv(vars({ REDIS_PASSWORD_FILE: missing })).issues).toEqual([
      { path: 'REDIS_PASSWORD_FILE', message: `cannot read ${missing} (ENOENT)` },
    ]);
    const empty = join(tmp.path, 'empty');
    writeFileSync(empty, '\n');
    expect(resolveRedisEnv(vars({ REDIS_PASSWORD_FILE: empty })).issues[0]!.message).toBe(
      `${empty} is empty`,
    );
  });

  it('refuses an un-tagged QUEUE_PREFIX on a cluster, naming the fix', () => {
    const { issues } = resolveRedisEnv(
      vars({ REDIS_URL: 'redis-cluster://:secret@n1,n2', QUEUE_PREFIX: 'joblet' }),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('QUEUE_PREFIX');
    expect(issues[0]!.message).toMatch(/Set QUEUE_PREFIX="\{joblet\}"/);
    expect(issues[0]!.message).not.toContain('secret');
    expect(
      resolveRedisEnv(vars({ REDIS_URL: 'redis-cluster://n1', QUEUE_PREFIX: '{joblet}' })).issues,
    ).toEqual([]);
    // One server or Sentinel: any prefix (a tagged one works everywhere).
    expect(resolveRedisEnv(vars({ REDIS_URL: 'redis-sentinel://s/m' })).issues).toEqual([]);
  });
});
