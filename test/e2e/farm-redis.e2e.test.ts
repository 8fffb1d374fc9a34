/**
 * The single-machine default through the real `rnx farm up`, when no Redis answers at
 * --redis-url: the farm starts its own Redis on 127.0.0.1 only, with a password generated into
 * its state dir (0600), and the API (also on 127.0.0.1 only), the worker and the agent all
 * authenticate with it (REDIS_PASSWORD_FILE): the agent registers, the worker joins its pool, and
 * the API's create-token (farm up's admin token) writes it.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { freePort, hasRedisServer, makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import { RNX } from './farm-fixture.js';

const exec = promisify(execFile);

/** The local addresses (hex, as /proc/net/tcp writes them) that listen on `port`. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') // 0A: LISTEN
    .map((f) => f[1]!.split(':')[0]!);
}
const LOOPBACK = '0100007F'; // 127.0.0.1

describe.skipIf(!hasRedisServer || process.getuid?.() !== 0)(
  'rnx farm up with a Redis of its own',
  () => {
    let tmp: TempDir;
    let dir = '';
    let apiPort = 0;
    let redisPort = 0;
    const node = `fr-${Date.now().toString(36)}`;
    const rnx = (args: string[]) =>
      exec(process.execPath, [RNX, ...args], {
        env: { PATH: process.env.PATH, HOME: tmp.path, NO_COLOR: '1' },
        timeout: 180_000,
      });

    beforeAll(async () => {
      tmp = await makeTempDir('farm-redis-e2e');
      // Rootless build sandboxes (uid 100000) and jobs (nobody) must reach the farm dir, as
      // they reach /var/lib/joblet-farm; the worker refuses to start otherwise.
      await chmod(tmp.path, 0o755);
      dir = join(tmp.path, 'farm');
      apiPort = await freePort();
      redisPort = await freePort();
      await rnx([
        'farm',
        'up',
        '--dir',
        dir,
        '--port',
        String(apiPort),
        '--redis-url',
        `redis://127.0.0.1:${redisPort}`,
        '--prefix',
        uniqueName('fr'),
        '--runtimes-dir',
        join(tmp.path, 'runtimes'),
        '--node-name',
        node,
        '--timeout',
        '120',
      ]);
    }, 180_000);

    afterAll(async () => {
      await rnx(['farm', 'down', '--dir', dir]).catch(() => undefined);
      await tmp?.cleanup();
    }, 180_000);

    it('binds its Redis and the API to 127.0.0.1 only', () => {
      expect(listeners(redisPort)).toEqual([LOOPBACK]);
      expect(listeners(apiPort)).toEqual([LOOPBACK]);
    });

    it('protects its Redis with a generated password kept 0600 in the state dir', async () => {
      const file = join(dir, 'redis', 'password');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const password = readFileSync(file, 'utf8').trim();
      const anonymous = new Redis({
        port: redisPort,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
      });
      anonymous.on('error', () => undefined);
      try {
        await anonymous.connect();
        await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
      } finally {
        anonymous.disconnect();
      }
      const farm = new Redis({ port: redisPort, password, lazyConnect: true });
      try {
        await farm.connect();
        expect(await farm.ping()).toBe('PONG');
      } finally {
        farm.disconnect();
      }
    });

    it('gives the password to every app: the agent registers, the worker joins its pool', async () => {
      const api = `http://127.0.0.1:${apiPort}`;
      // The admin token farm up made with the farm's Redis password (create-token) and saved.
      const config = parse(readFileSync(join(tmp.path, '.rnx', 'rnx-config.yml'), 'utf8')) as {
        servers: Record<string, { url: string; token?: string }>;
      };
      const token = Object.values(config.servers).find((s) => s.url === api)?.token;
      expect(token).toMatch(/^jrf_/);
      const get = (path: string) =>
        fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const deadline = Date.now() + 60_000;
      let nodes: { name: string; online: boolean }[] = [];
      let workers = 0;
      while (Date.now() < deadline) {
        nodes = ((await (await get('/v1/nodes')).json()) as { nodes: typeof nodes }).nodes;
        const pools = (await (await get('/v1/pools')).json()) as {
          pools: { workers: number }[];
        };
        workers = pools.pools[0]?.workers ?? 0;
        if (nodes.some((n) => n.name === node && n.online) && workers > 0) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(nodes.find((n) => n.name === node)?.online).toBe(true);
      expect(workers).toBe(1);
    }, 90_000);
  },
);
