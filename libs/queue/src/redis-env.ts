/**
 * The Redis part of each app's configuration, shared so the API, workers and agents accept the
 * same forms with the same messages:
 *
 * - `REDIS_URL`: any URL {@link parseRedisUrl} reads (one server, Sentinel, Cluster; TLS);
 * - `QUEUE_PREFIX`: on a cluster it must carry a hash tag (`{joblet}`), checked at start-up;
 * - credentials: in the URL (`redis://user:password@host`), or, to keep them out of URLs,
 *   `REDIS_USERNAME` (an ACL user; default `default`) and `REDIS_PASSWORD` or
 *   `REDIS_PASSWORD_FILE` (a file holding it). One place per value: both is a start-up error.
 *
 * Messages name the variable and never contain the password.
 */
import { z } from 'zod';
import { secretFromEnv, secretsFromEnv, type EnvIssue } from '@joblet/spec';
import {
  RedisConfigError,
  assertQueuePrefix,
  parseRedisUrl,
  redactRedisUrl,
  type RedisConfig,
} from './connection.js';

/** `REDIS_URL` as every app declares it; a URL of a form the farm cannot use is refused. */
export const RedisUrlEnv = z
  .string()
  .default('redis://127.0.0.1:6379')
  .superRefine((url, ctx) => {
    try {
      urlCredentials(url);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

/** Where and as whom an app connects: {@link createRedisConnection} takes it as it is. */
export type RedisSettings = Pick<RedisConfig, 'url' | 'username' | 'password'>;

/** The parsed variables {@link resolveRedisEnv} reads (the keys of each app's zod object). */
export interface RedisEnvVars {
  REDIS_URL: string;
  QUEUE_PREFIX: string;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
  REDIS_PASSWORD_FILE?: string;
}

/**
 * The connection settings of an app, or the issues that stop its start: a prefix without hash
 * tag on a cluster, a password in two places, an unreadable password file.
 */
export function resolveRedisEnv(e: RedisEnvVars): { redis: RedisSettings; issues: EnvIssue[] } {
  const issues: EnvIssue[] = [];
  const url = e.REDIS_URL;
  const attempt = <T>(path: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (err) {
      issues.push({ path, message: (err as Error).message });
      return undefined;
    }
  };
  const fromUrl = attempt('REDIS_URL', () => urlCredentials(url)) ?? {};
  attempt('QUEUE_PREFIX', () => assertQueuePrefix(e.QUEUE_PREFIX, url));
  const secret = secretFromEnv(
    { REDIS_PASSWORD: e.REDIS_PASSWORD, REDIS_PASSWORD_FILE: e.REDIS_PASSWORD_FILE },
    'REDIS_PASSWORD',
  );
  issues.push(...secret.issues);
  const username = e.REDIS_USERNAME === '' ? undefined : e.REDIS_USERNAME;
  const inBoth = (what: string, variable: string) =>
    issues.push({
      path: variable,
      message: `REDIS_URL (${redactRedisUrl(url)}) already carries a ${what}: give it in one place`,
    });
  if (username !== undefined && fromUrl.username !== undefined) inBoth('user', 'REDIS_USERNAME');
  if (secret.value !== undefined && fromUrl.password !== undefined) {
    inBoth('password', e.REDIS_PASSWORD_FILE ? 'REDIS_PASSWORD_FILE' : 'REDIS_PASSWORD');
  }
  return {
    redis: {
      url,
      ...(username !== undefined && { username }),
      ...(secret.value !== undefined && { password: secret.value }),
    },
    issues,
  };
}

type Credentials = { username?: string; password?: string };

/**
 * The user and password a Redis URL of any form carries (as ioredis reads them).
 * @throws RedisConfigError for a URL the farm cannot use.
 */
function urlCredentials(url: string): Credentials {
  const target = parseRedisUrl(url);
  if (target.kind !== 'standalone') return target;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisConfigError(`Redis URL ${redactRedisUrl(url)}: not a valid URL`);
  }
  const { username, password } = parsed;
  return {
    ...(username !== '' && { username: decodeURIComponent(username) }),
    ...(password !== '' && { password: decodeURIComponent(password) }),
  };
}

/** The store's keys, as every app reads them (each possibly from a `_FILE`). */
export const STORAGE_SECRETS = ['STORAGE_ACCESS_KEY', 'STORAGE_SECRET_KEY'] as const;

/**
 * An app's connections: its Redis settings ({@link resolveRedisEnv}) and its store keys, with
 * secrets read from their `_FILE`s, and every issue of both.
 */
export function connectionsFromEnv(e: RedisEnvVars & Readonly<Record<string, unknown>>): {
  redis: RedisSettings;
  storage: Partial<Record<(typeof STORAGE_SECRETS)[number], string>>;
  issues: EnvIssue[];
} {
  const { redis, issues } = resolveRedisEnv(e);
  const storage = secretsFromEnv(e, STORAGE_SECRETS);
  return { redis, storage: storage.values, issues: [...issues, ...storage.issues] };
}
