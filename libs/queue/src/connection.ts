/**
 * Redis connections for BullMQ and the farm's own keys, from one URL per deployment:
 *
 * - `redis://[[user]:password@]host[:6379][/db]`, `rediss://…` (TLS) — one server;
 * - `redis-sentinel://[[user]:password@]host1[:26379],host2[:26379]/mastername[?db=N&sentinel_password=…]`
 *   (`rediss-sentinel://` for TLS to sentinels and servers) — the master a set of Sentinels names,
 *   followed across failovers by ioredis;
 * - `redis-cluster://[[user]:password@]host1[:6379],host2[:6379]` (`rediss-cluster://` for TLS) —
 *   Redis Cluster; the nodes listed are only seeds, ioredis discovers the rest.
 *
 * On a cluster BullMQ runs multi-key Lua scripts, so every key of a queue must hash to one slot:
 * the key prefix needs a hash tag (`{joblet}`). Flows span queues (a `publish` parent with
 * `build-<arch>` children), and the farm's own keys share the prefix, so one tag for the whole
 * prefix puts the farm in one slot — by design (see {@link queuePrefix}).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export interface RedisConfig {
  /** A `redis://`, `rediss://`, `redis-sentinel://` or `redis-cluster://` URL (see the module doc). */
  url: string;
  /** BullMQ workers need `null` so blocking commands are never cut short. */
  forWorker?: boolean;
  /** The BullMQ/key prefix this connection will be used with; checked on a cluster URL. */
  prefix?: string;
  /**
   * Credentials of the Redis servers (an ACL user and its password, or only `requirepass`'s
   * password), for URLs that carry none: what the URL carries wins. Sentinels authenticate with
   * the URL's `sentinel_username`/`sentinel_password`.
   */
  username?: string;
  password?: string;
}

/** A connection of either topology: what the farm's code works with. */
export type RedisClient = Redis | Cluster;

/** A bad Redis URL or prefix. The message never contains the password. */
export class RedisConfigError extends Error {
  override readonly name = 'RedisConfigError';
  readonly code = 'REDIS_BAD_CONFIG';
}

export interface RedisHostPort {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

/** What a Redis URL describes. */
export type RedisTarget =
  | { kind: 'standalone'; url: string; tls: boolean }
  | ({
      kind: 'sentinel';
      sentinels: RedisHostPort[];
      masterName: string;
      db: number;
      tls: boolean;
      sentinelUsername?: string;
      sentinelPassword?: string;
    } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisHostPort[]; tls: boolean } & Credentials);

const SCHEMES: Record<string, { kind: 'sentinel' | 'cluster'; tls: boolean; port: number }> = {
  'redis-sentinel': { kind: 'sentinel', tls: false, port: 26379 },
  'rediss-sentinel': { kind: 'sentinel', tls: true, port: 26379 },
  'redis-cluster': { kind: 'cluster', tls: false, port: 6379 },
  'rediss-cluster': { kind: 'cluster', tls: true, port: 6379 },
};
const SENTINEL_PARAMS = ['db', 'sentinel_username', 'sentinel_password'];
const MULTI_HOST_URL = /^([a-z-]+):\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/;
const MASTER_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** The URL with its password replaced by `***`, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z-]+:\/\/)([^@/?#]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return `${scheme}${colon < 0 ? auth : `${auth.slice(0, colon)}:***`}@`;
  });
}

/**
 * Parses a Redis URL of any supported form.
 * @throws RedisConfigError naming what is wrong (with the password redacted).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const fail = (why: string): never => {
    throw new RedisConfigError(`Redis URL ${redactRedisUrl(url)}: ${why}`);
  };
  if (/^rediss?:\/\//.test(url)) {
    return { kind: 'standalone', url, tls: url.startsWith('rediss:') };
  }
  const m = MULTI_HOST_URL.exec(url);
  const scheme = m ? SCHEMES[m[1]!] : undefined;
  if (!m || !scheme) {
    return fail(
      'expected redis://, rediss://, redis-sentinel://host:26379,…/mastername or ' +
        'redis-cluster://host:6379,… (TLS: rediss-sentinel://, rediss-cluster://)',
    );
  }
  const [, , auth, hostList = '', path = '', query = ''] = m;
  if (hostList.trim() === '') fail('no host given');
  const hosts = hostList.split(',').map((h) => parseHostPort(h.trim(), scheme.port, fail));
  const creds = parseCredentials(auth, fail);
  const params = new URLSearchParams(query);

  if (scheme.kind === 'cluster') {
    if (path !== '') fail('a cluster has only database 0 and no master name: remove the path');
    for (const key of params.keys()) fail(`unknown parameter "${key}" (a cluster URL takes none)`);
    return { kind: 'cluster', nodes: hosts, tls: scheme.tls, ...creds };
  }

  const masterName = decode(path, fail);
  if (masterName === '') fail('the master name is missing (…/mastername, e.g. /mymaster)');
  if (!MASTER_NAME.test(masterName)) fail(`"${masterName}" is not a valid master name`);
  for (const key of params.keys()) {
    if (!SENTINEL_PARAMS.includes(key)) {
      fail(`unknown parameter "${key}" (allowed: ${SENTINEL_PARAMS.join(', ')})`);
    }
  }
  const dbText = params.get('db') ?? '0';
  const db = Number(dbText);
  if (!/^\d{1,5}$/.test(dbText) || db > 15) fail(`db "${dbText}" is not a number 0-15`);
  const sentinelUsername = params.get('sentinel_username') ?? undefined;
  const sentinelPassword = params.get('sentinel_password') ?? undefined;
  return {
    kind: 'sentinel',
    sentinels: hosts,
    masterName,
    db,
    tls: scheme.tls,
    ...creds,
    ...(sentinelUsername !== undefined && { sentinelUsername }),
    ...(sentinelPassword !== undefined && { sentinelPassword }),
  };
}

function parseHostPort(text: string, defaultPort: number, fail: (why: string) => never) {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) return fail(`"${text}" is not host[:port]`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) fail(`port ${port} of "${text}" is out of range`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** `user:password`, `:password` or `user` (as ioredis reads `redis://` URLs). */
function parseCredentials(auth: string | undefined, fail: (why: string) => never): Credentials {
  if (auth === undefined || auth === '') return {};
  const colon = auth.indexOf(':');
  const username = decode(colon < 0 ? auth : auth.slice(0, colon), fail);
  const password = colon < 0 ? '' : decode(auth.slice(colon + 1), fail);
  return {
    ...(username !== '' && { username }),
    ...(password !== '' && { password }),
  };
}

function decode(text: string, fail: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('bad percent-encoding in the user, password or master name');
  }
}

/** True when `url` names a Redis Cluster (`redis-cluster://`, `rediss-cluster://`). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?-cluster:\/\//.test(url);
}

/**
 * The hash tag Redis Cluster would hash a key starting with `prefix` by: the text between the
 * first `{` and the next `}`, if not empty; `undefined` when the prefix has none.
 */
export function hashTag(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  if (open < 0) return undefined;
  const close = prefix.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return prefix.slice(open + 1, close);
}

/**
 * The key prefix to give BullMQ (and {@link Keys}): on a cluster, `prefix` hash-tagged so every
 * key of every queue lands in one slot (`joblet` → `{joblet}`; an already tagged prefix is kept);
 * elsewhere `prefix` unchanged.
 * @throws RedisConfigError when the prefix has braces that do not form a hash tag (`{}x`, `a}b`).
 */
export function queuePrefix(prefix: string, cluster: boolean): string {
  if (prefix === '') throw new RedisConfigError('the queue prefix is empty');
  const tag = hashTag(prefix);
  if (tag === undefined && /[{}]/.test(prefix)) {
    throw new RedisConfigError(
      `queue prefix "${prefix}" has braces but no hash tag: use "{name}" or no braces`,
    );
  }
  if (!cluster || tag !== undefined) return prefix;
  return `{${prefix}}`;
}

/**
 * Checks that `prefix` is usable with the Redis at `url`: on a cluster it must carry a hash tag,
 * or BullMQ's scripts fail with CROSSSLOT at the first job.
 * @throws RedisConfigError saying which prefix to use instead.
 */
export function assertQueuePrefix(prefix: string, url: string): void {
  const cluster = isClusterUrl(url);
  const fitting = queuePrefix(prefix, cluster);
  if (fitting !== prefix) {
    throw new RedisConfigError(
      `queue prefix "${prefix}" is not hash-tagged, but ${redactRedisUrl(url)} is a Redis ` +
        `Cluster: BullMQ needs all keys of a queue in one slot. Set QUEUE_PREFIX="${fitting}" ` +
        `(the same value on the API, every worker and every agent).`,
    );
  }
}

/** The servers' credentials: the URL's, else `cfg`'s; only those that are set. */
function auth(cfg: RedisConfig, fromUrl: Credentials = {}): Credentials {
  const username = fromUrl.username ?? cfg.username;
  const password = fromUrl.password ?? cfg.password;
  return {
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
  };
}

/** Options every connection shares: BullMQ's needs, not the transport. */
function commonOptions(cfg: RedisConfig): RedisOptions {
  return {
    maxRetriesPerRequest: cfg.forWorker ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
  };
}

/**
 * One ioredis connection to a single server or, through Sentinels, to the current master,
 * configured the way BullMQ needs it.
 * @throws RedisConfigError for a cluster URL (use {@link createRedisCluster} or
 *   {@link createRedisConnection}) or a malformed URL.
 */
export function createRedis(cfg: RedisConfig): Redis {
  const target = parseRedisUrl(cfg.url);
  if (target.kind === 'cluster') {
    throw new RedisConfigError(
      `${redactRedisUrl(cfg.url)} is a Redis Cluster: connect with createRedisCluster() or ` +
        'createRedisConnection()',
    );
  }
  if (cfg.prefix !== undefined) assertQueuePrefix(cfg.prefix, cfg.url);
  // ioredis lets the URL's user and password win over these options.
  if (target.kind === 'standalone')
    return new Redis(cfg.url, { ...commonOptions(cfg), ...auth(cfg) });
  return new Redis({
    ...commonOptions(cfg),
    sentinels: target.sentinels,
    name: target.masterName,
    db: target.db,
    ...auth(cfg, target),
    ...(target.sentinelUsername !== undefined && { sentinelUsername: target.sentinelUsername }),
    ...(target.sentinelPassword !== undefined && { sentinelPassword: target.sentinelPassword }),
    ...(target.tls && { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true }),
  });
}

/**
 * A Redis Cluster client (BullMQ accepts it as `connection`). Give `prefix` to have it checked.
 * @throws RedisConfigError for a URL that is not a cluster URL, or an un-tagged `prefix`.
 */
export function createRedisCluster(cfg: RedisConfig): Cluster {
  const target = parseRedisUrl(cfg.url);
  if (target.kind !== 'cluster') {
    throw new RedisConfigError(
      `${redactRedisUrl(cfg.url)} is not a redis-cluster:// URL: connect with createRedis()`,
    );
  }
  if (cfg.prefix !== undefined) assertQueuePrefix(cfg.prefix, cfg.url);
  const options: ClusterOptions = {
    enableReadyCheck: true,
    lazyConnect: false,
    // BullMQ reads maxRetriesPerRequest from here for a cluster (it must be null for workers).
    redisOptions: {
      maxRetriesPerRequest: cfg.forWorker ? null : 3,
      ...auth(cfg, target),
      ...(target.tls && { tls: {} }),
    },
  };
  return new Cluster(target.nodes, options);
}

/** A connection of whatever topology `cfg.url` names: for code that works with both types. */
export function createRedisConnection(cfg: RedisConfig): RedisClient {
  return isClusterUrl(cfg.url) ? createRedisCluster(cfg) : createRedis(cfg);
}
