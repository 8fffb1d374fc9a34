/**
 * The Redis of the single-machine farm. `rnx farm up` uses the Redis that answers at --redis-url
 * (the host's own, with whatever credentials the URL carries). When none answers it starts its
 * own: bound to 127.0.0.1 only, persisted (AOF) in `<farm dir>/redis/`, and protected by a password
 * generated once and kept in `<farm dir>/redis/password` (mode 0600, in a 0700 directory). The
 * password reaches redis-server through a config file of the same mode — never the command line,
 * which `ps` shows to every user — and the apps as REDIS_PASSWORD_FILE.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { farmPaths } from './farm-state.js';

/** What answers at a Redis URL: PONG without credentials (`open`), PONG with the farm's password
 * (`farm`), a server that wants other credentials (`locked`), or nothing (`down`). */
export type RedisProbe = 'open' | 'farm' | 'locked' | 'down';

/** How the farm uses Redis: the variables its apps get, and the server to start, if any. */
export interface FarmRedisPlan {
  env: NodeJS.ProcessEnv;
  /** redis-server and its arguments, when the farm starts its own. */
  server?: { cmd: string; args: string[] };
  /** True once the Redis the apps will use answers them. */
  ready(): Promise<boolean>;
}

/** `<farm dir>/redis/password`. */
export function farmRedisPasswordFile(farmDir: string): string {
  return join(farmPaths(farmDir).redis, 'password');
}

/** The farm Redis's directory (password, config, AOF), readable by its owner only. */
function privateRedisDir(farmDir: string): string {
  const dir = farmPaths(farmDir).redis;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/** The farm's Redis password, generated on first use (0600 file in a 0700 directory). */
export function ensureFarmRedisPassword(farmDir: string): string {
  privateRedisDir(farmDir);
  const file = farmRedisPasswordFile(farmDir);
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

/** PINGs `url`, without credentials of its own first, then with `password`. */
export async function probeRedis(url: string, password?: string): Promise<RedisProbe> {
  const ping = async (pw?: string): Promise<'pong' | 'auth' | 'down'> => {
    const r = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableReadyCheck: false,
      ...(pw !== undefined && { password: pw }),
    });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === 'PONG' ? 'pong' : 'down';
    } catch (err) {
      return /NOAUTH|WRONGPASS|\bAUTH\b/.test((err as Error).message) ? 'auth' : 'down';
    } finally {
      r.disconnect();
    }
  };
  const bare = await ping();
  if (bare !== 'auth') return bare === 'pong' ? 'open' : 'down';
  if (password === undefined || urlHasPassword(url)) return 'locked';
  return (await ping(password)) === 'pong' ? 'farm' : 'locked';
}

/**
 * The Redis variables the farm's apps have for the Redis at `url` once the farm runs: the farm's
 * password file when that Redis takes it, else nothing (an open Redis, or one whose URL carries
 * its own credentials). Reading the file needs the rights of whoever started the farm.
 */
export async function runningFarmRedisEnv(
  farmDir: string,
  url: string,
): Promise<NodeJS.ProcessEnv> {
  const file = farmRedisPasswordFile(farmDir);
  const stored = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  return (await probeRedis(url, stored)) === 'farm' ? { REDIS_PASSWORD_FILE: file } : {};
}

function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/**
 * Decides how the farm in `farmDir` uses the Redis at `url`: as it is when it answers, else a
 * server of the farm's own on the URL's port (loopback only, with the farm's password, unless the
 * URL names a password of its own).
 */
export async function planFarmRedis(farmDir: string, url: string): Promise<FarmRedisPlan> {
  const passwordFile = farmRedisPasswordFile(farmDir);
  const stored = existsSync(passwordFile) ? ensureFarmRedisPassword(farmDir) : undefined;
  const found = await probeRedis(url, stored);
  const farmEnv = { REDIS_PASSWORD_FILE: passwordFile };
  if (found !== 'down') {
    // `farm`: our own server, left running (or started by an earlier supervisor): its password.
    return { env: found === 'farm' ? farmEnv : {}, ready: () => Promise.resolve(true) };
  }
  const ownPassword = urlHasPassword(url) ? decodeURIComponent(new URL(url).password) : undefined;
  const password = ownPassword ?? ensureFarmRedisPassword(farmDir);
  const conf = writeServerConfig(farmDir, url, password);
  return {
    env: ownPassword === undefined ? farmEnv : {},
    server: { cmd: 'redis-server', args: [conf] },
    ready: async () => (await probeRedis(url, password)) !== 'down',
  };
}

/** `<farm dir>/redis/redis.conf` (0600: it holds the password). */
function writeServerConfig(farmDir: string, url: string, password: string): string {
  const dir = privateRedisDir(farmDir);
  const port = new URL(url).port || '6379';
  const conf = join(dir, 'redis.conf');
  const lines = [
    '# Written by `rnx farm up` at every start: the farm Redis, on this machine only.',
    'bind 127.0.0.1',
    'protected-mode yes',
    `port ${port}`,
    `dir "${dir}"`,
    'appendonly yes',
    'save ""',
    `requirepass ${password}`,
    '',
  ];
  writeFileSync(conf, lines.join('\n'), { mode: 0o600 });
  chmodSync(conf, 0o600);
  return conf;
}
