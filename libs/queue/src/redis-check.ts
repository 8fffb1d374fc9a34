/**
 * The start-up check of an app's Redis settings. Without it, wrong credentials or an ACL that
 * does not cover the farm's keys show up as an endless reconnect loop (BullMQ workers retry
 * forever) or as failures at the first job; with it, the app refuses to start with a message that
 * names REDIS_URL and the user, never the password. Redis not answering (yet) is not an error
 * here: the apps wait for it as they always did.
 */
import {
  createRedisConnection,
  RedisConfigError,
  redactRedisUrl,
  type RedisConfig,
} from './connection.js';

/** Replies meaning "these credentials are wrong or missing". */
const AUTH_FAILED = /WRONGPASS|NOAUTH|invalid password|called without any password configured/i;
const NO_PERMISSION = /NOPERM/;

/** What the check found: the farm can work (`ok`), or nothing answered within the time. */
export type RedisCheck = 'ok' | 'unreachable';

/**
 * Connects once with `cfg` and runs what every app needs first: PING, then an EXISTS of a key
 * under `cfg.prefix` (an ACL confined to another prefix fails it).
 * @throws RedisConfigError when Redis refuses the credentials or the ACL refuses a command or key.
 */
export async function verifyRedis(cfg: RedisConfig, timeoutMs = 5_000): Promise<RedisCheck> {
  const client = createRedisConnection({ ...cfg, forWorker: false });
  client.on('error', () => undefined); // later errors: the first one decides (below)
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    // A refused AUTH arrives as a connection 'error', not as the reply to a command.
    client.once('error', (err: Error) => reject(err));
  });
  const timeout = new Promise<RedisCheck>((resolve) => {
    timer = setTimeout(() => resolve('unreachable'), timeoutMs);
  });
  const probe = (async (): Promise<RedisCheck> => {
    await client.ping();
    if (cfg.prefix !== undefined) await client.exists(`${cfg.prefix}:config-check`);
    return 'ok';
  })();
  try {
    return await Promise.race([probe, failed, timeout]);
  } catch (err) {
    const reason = refusal(err as Error);
    if (reason !== undefined) throw configError(cfg, reason);
    return 'unreachable';
  } finally {
    clearTimeout(timer);
    probe.catch(() => undefined);
    client.disconnect();
  }
}

/** Redis's own words when it refused us (also inside a cluster's "all nodes failed" error). */
function refusal(err: Error): { kind: 'auth' | 'acl'; text: string } | undefined {
  const inner = (err as { lastNodeError?: Error }).lastNodeError;
  for (const text of [err.message, inner?.message ?? '']) {
    if (AUTH_FAILED.test(text)) return { kind: 'auth', text };
    if (NO_PERMISSION.test(text)) return { kind: 'acl', text };
  }
  return undefined;
}

function configError(cfg: RedisConfig, reason: { kind: 'auth' | 'acl'; text: string }) {
  const who = `REDIS_URL ${redactRedisUrl(cfg.url)}${cfg.username ? ` as user "${cfg.username}"` : ''}`;
  const text = reason.text.trim();
  if (reason.kind === 'auth') {
    return new RedisConfigError(
      `${who}: Redis refused the credentials (${text}). Check the user and password: in ` +
        'REDIS_URL, or REDIS_USERNAME and REDIS_PASSWORD (or REDIS_PASSWORD_FILE).',
    );
  }
  const keys = cfg.prefix === undefined ? '' : ` and the keys and channels under "${cfg.prefix}:"`;
  return new RedisConfigError(
    `${who}: the user's ACL refuses what the farm needs (${text}): it must allow the farm's ` +
      `commands${keys} (see infra/redis/users.acl.example).`,
  );
}
