/**
 * The single-machine farm's own Redis: started as `rnx farm up` starts it (real redis-server on a
 * free port), it listens on 127.0.0.1 only and wants the password generated once in the state
 * dir (0600), which the apps get as REDIS_PASSWORD_FILE; a Redis that already answers is used as
 * it is.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RedisServers,
  freePort,
  hasRedisServer,
  makeTempDir,
  until,
  type TempDir,
} from '@joblet/testkit';
import { farmRedisPasswordFile, planFarmRedis, probeRedis } from './farm-redis.js';

const mode = (p: string) => statSync(p).mode & 0o777;

/** An IPv4 address of this machine other than loopback, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe.skipIf(!hasRedisServer)('the farm Redis', () => {
  const servers = new RedisServers();
  let tmp: TempDir;
  let url = '';
  let port = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('farm-redis');
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await servers.stopAll();
    await tmp?.cleanup();
  });

  it('is started on 127.0.0.1 only, with a generated password kept 0600', async () => {
    const plan = await planFarmRedis(tmp.path, url);
    const file = farmRedisPasswordFile(tmp.path);
    expect(plan.env).toEqual({ REDIS_PASSWORD_FILE: file });
    expect(plan.server?.cmd).toBe('redis-server');
    const password = readFileSync(file, 'utf8').trim();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(mode(file)).toBe(0o600);
    expect(mode(join(tmp.path, 'redis'))).toBe(0o700);
    // The password is in a 0600 config file, not on the command line (`ps` shows that to all).
    expect(plan.server!.args.join(' ')).not.toContain(password);
    for (const arg of plan.server!.args) if (existsSync(arg)) expect(mode(arg)).toBe(0o600);

    servers.start(plan.server!.args, tmp.path);
    await until('the farm redis', () => plan.ready());
    expect(await probeRedis(url)).toBe('locked'); // no password: refused
    expect(await probeRedis(url, password)).toBe('farm');
    const r = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true });
    try {
      await r.connect();
      expect(await r.call('CONFIG', 'GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      expect(await r.call('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    } finally {
      r.disconnect();
    }
  });

  it.skipIf(!external)('cannot be reached on any other address of this machine', async () => {
    expect(await probeRedis(`redis://${external}:${port}`)).toBe('down');
  });

  it('is used again as it runs, with the same password (a supervisor restart)', async () => {
    const before = readFileSync(farmRedisPasswordFile(tmp.path), 'utf8');
    const plan = await planFarmRedis(tmp.path, url);
    expect(plan.server).toBeUndefined();
    expect(plan.env).toEqual({ REDIS_PASSWORD_FILE: farmRedisPasswordFile(tmp.path) });
    expect(readFileSync(farmRedisPasswordFile(tmp.path), 'utf8')).toBe(before);
  });

  it("takes a URL's own password for a server it starts, and gives the apps no file", async () => {
    const dir = await makeTempDir('farm-redis-url-pw');
    try {
      const p = await freePort();
      const plan = await planFarmRedis(dir.path, `redis://:given-pw@127.0.0.1:${p}`);
      expect(plan.env).toEqual({});
      expect(plan.server).toBeDefined();
      expect(readFileSync(plan.server!.args[0]!, 'utf8')).toContain('requirepass given-pw');
      expect(existsSync(farmRedisPasswordFile(dir.path))).toBe(false);
    } finally {
      await dir.cleanup();
    }
  });

  it('uses a Redis that answers without a password as it is (the host’s own)', async () => {
    const hostRedis = 'redis://127.0.0.1:6379';
    if ((await probeRedis(hostRedis)) !== 'open') return; // no open Redis here: nothing to check
    const plan = await planFarmRedis(tmp.path, hostRedis);
    expect(plan).toMatchObject({ env: {} });
    expect(plan.server).toBeUndefined();
  });
});
