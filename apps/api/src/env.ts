/** The API's configuration: the only file that reads `process.env`, parsed once at start-up. */
import { z } from 'zod';
import { checkStoreUrl } from '@joblet/storage';
import { RedisUrlEnv, connectionsFromEnv, type RedisSettings } from '@joblet/queue';
import {
  ARCHITECTURES,
  DEFAULT_RUNTIME_NAME,
  JobNetwork,
  configError,
  type EnvIssue,
} from '@joblet/spec';
import { AUTH_MODES, authModeIncludes, isLoopbackHost } from './auth/auth-mode.js';

const count = (def: number) => z.coerce.number().int().min(0).default(def);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const ApiEnv = z.object({
  /** The single-machine default listens on loopback only. */
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(7070),
  /** One server, Sentinel or Cluster URL, as libs/queue/src/redis-env.ts describes. */
  REDIS_URL: RedisUrlEnv,
  /** BullMQ key prefix; hash-tag it (`{joblet}`) on Redis Cluster. */
  QUEUE_PREFIX: z.string().min(1).default('joblet'),
  /** This app's Redis ACL user and password, when REDIS_URL carries none (or a file holding it). */
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_PASSWORD_FILE: z.string().optional(),
  /** `file:///var/lib/joblet-farm/store` or `s3://bucket?endpoint=http://host:9000`. */
  STORAGE_URL: z.string().default('file:///var/lib/joblet-farm/store').superRefine(checkStoreUrl),
  STORAGE_ACCESS_KEY: z.string().optional(),
  STORAGE_SECRET_KEY: z.string().optional(),
  /** Files holding the store's keys, instead of STORAGE_ACCESS_KEY/STORAGE_SECRET_KEY. */
  STORAGE_ACCESS_KEY_FILE: z.string().optional(),
  STORAGE_SECRET_KEY_FILE: z.string().optional(),
  /** Operator's base catalog (YAML/JSON), merged over the built-in one. */
  CATALOG_FILE: z.string().optional(),
  /** Architectures a spec gets when it names none: the pools this farm runs. */
  FARM_ARCHITECTURES: z
    .string()
    .default('amd64')
    .transform((s) => s.split(',').map((a) => a.trim()))
    .pipe(z.array(z.enum(ARCHITECTURES)).min(1)),
  /**
   * The runtime of jobs that name none (a runtime reference). The farm's own `debian-12` is
   * built on first need; another must be built by the operator.
   */
  API_DEFAULT_RUNTIME: z
    .string()
    .default(DEFAULT_RUNTIME_NAME)
    .refine(
      (r) => /^[a-z0-9][a-z0-9.:@-]{0,199}$/.test(r),
      'a runtime reference (name, name@1.2.3, language:version)',
    ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /**
   * How clients prove who they are: `mtls` (client certificate, role in its OU), `token`
   * (`Authorization: Bearer jrf_…`), `mtls+token`, or `none` (every request is the local admin —
   * loopback only, and only when set explicitly). Default: `mtls` when API_TLS_CERT is set, else
   * `token` (plain HTTP carries tokens only on loopback).
   */
  API_AUTH: z.enum(AUTH_MODES).optional(),
  /**
   * Host names (comma-separated, no port) the API answers to besides loopback's; other `Host`
   * headers get 403 (DNS rebinding). Empty on a non-loopback API_HOST: any name.
   */
  API_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^([a-z0-9._-]+|\[[0-9a-f:.]+\])$/,
            'a host name or IP address without port or scheme (farm.example.com, 10.0.0.5, [fd00::5])',
          )
          .transform((h) => h.replace(/^\[|\]$/g, '')),
      ),
    ),
  /** PEM files: the server's certificate and key (HTTPS), and the CA that signs client certs. */
  API_TLS_CERT: z.string().min(1).optional(),
  API_TLS_KEY: z.string().min(1).optional(),
  API_TLS_CA: z.string().min(1).optional(),
  /**
   * Refuse the TLS handshake without a valid client certificate. Default: true for `mtls`; false
   * for `mtls+token`, so token-only clients can connect (a presented certificate is still checked).
   */
  API_TLS_REQUIRED: bool.optional(),
  /**
   * File with the TLS session ticket keys (48 random bytes, base64: `openssl rand -base64 48`).
   * Give every API replica behind one load balancer the same file, so that a session resumed
   * on another replica stays an abbreviated handshake. Default: random keys per process.
   */
  API_TLS_TICKET_KEYS_FILE: z.string().min(1).optional(),
  /** How long a TLS session may be resumed (s); a resumed session keeps its client certificate. */
  API_TLS_SESSION_TIMEOUT_S: z.coerce.number().int().min(0).max(86_400).default(300),
  /** Requests per client (identity) per window; 0 turns the limit off. Counted in Redis. */
  API_RATE_LIMIT_REQUESTS: count(300),
  API_RATE_LIMIT_WINDOW_S: z.coerce.number().int().min(1).max(3600).default(10),
  /** Open SSE streams per process, overall and per client; each holds a Redis connection. */
  API_SSE_MAX_STREAMS: count(200),
  API_SSE_MAX_STREAMS_PER_CLIENT: count(8),

  /**
   * Per-identity quotas (a token, a client certificate's CN), shared by all replicas through
   * Redis; 0 = unlimited. The local admin of API_AUTH=none is not counted. Jobs scheduled, queued
   * or running:
   */
  API_QUOTA_JOBS_ACTIVE: count(100),
  /** Volumes created and not removed. */
  API_QUOTA_VOLUMES: count(50),
  /** Builds submitted and not finished (queued or running). */
  API_QUOTA_BUILDS_QUEUED: count(20),

  /**
   * The network of jobs that name none: `none` (only their own loopback), `isolated` (the
   * internet only), `bridge` or a custom network (rnx network create).
   */
  API_DEFAULT_NETWORK: JobNetwork.default('none'),

  /** Retention: published versions kept per runtime (older ones go at the next collection). */
  RETENTION_KEEP_VERSIONS: z.coerce.number().int().min(1).default(5),
  /** Days a succeeded or canceled build's record and log stay in Redis. */
  RETENTION_BUILD_DAYS: z.coerce.number().positive().default(7),
  /** Days a failed build's record and log stay in Redis. */
  RETENTION_FAILED_BUILD_DAYS: z.coerce.number().positive().default(7),
  /** Days a finished job's record and output stay in Redis. */
  RETENTION_JOB_DAYS: z.coerce.number().positive().default(7),
  /** Days a base root no published runtime uses is kept in the store. */
  RETENTION_BASE_DAYS: z.coerce.number().positive().default(30),
  /** Run the garbage collector every this many seconds (one replica at a time); 0 = only on request. */
  GC_INTERVAL_S: count(0),
});
type ParsedEnv = z.infer<typeof ApiEnv>;
export type ApiEnv = Omit<ParsedEnv, 'API_AUTH' | 'API_TLS_REQUIRED'> & {
  API_AUTH: (typeof AUTH_MODES)[number];
  API_TLS_REQUIRED: boolean;
  /** Where Redis is and this app's credentials for it (from the REDIS_* variables). */
  redis: RedisSettings;
};

/**
 * Rules across variables. The one that matters most: `none` hands admin to whoever can connect,
 * so it is refused unless the API listens on loopback only.
 */
function defaultAuth(e: ParsedEnv): (typeof AUTH_MODES)[number] {
  return e.API_AUTH ?? (e.API_TLS_CERT ? 'mtls' : 'token');
}

function checkSecurity(e: ParsedEnv): { path: string; message: string }[] {
  const auth = defaultAuth(e);
  const tls = Boolean(e.API_TLS_CERT);
  const issues: { path: string; message: string }[] = [];
  if (Boolean(e.API_TLS_CERT) !== Boolean(e.API_TLS_KEY))
    issues.push({ path: 'API_TLS_KEY', message: 'API_TLS_CERT and API_TLS_KEY go together' });
  const loopback = isLoopbackHost(e.API_HOST);
  if (auth === 'none' && !loopback) {
    issues.push({
      path: 'API_AUTH',
      message:
        `"none" makes every request an admin and is only allowed when API_HOST is a loopback ` +
        `address (127.0.0.1, ::1, localhost), not "${e.API_HOST}": set API_TLS_CERT, API_TLS_KEY ` +
        `and API_TLS_CA (see \`rnx admin certs init\`) and API_AUTH=mtls, or API_AUTH=token`,
    });
  }
  if (authModeIncludes(auth, 'mtls') && !(tls && e.API_TLS_CA)) {
    issues.push({
      path: 'API_AUTH',
      message: `"${auth}" needs API_TLS_CERT, API_TLS_KEY and API_TLS_CA (the client CA)`,
    });
  }
  if (authModeIncludes(auth, 'token') && !tls && !loopback) {
    issues.push({
      path: 'API_AUTH',
      message: `"${auth}" over plain HTTP would send tokens in clear text: set API_TLS_CERT and API_TLS_KEY, or listen on loopback`,
    });
  }
  if (e.API_TLS_REQUIRED && !e.API_TLS_CA)
    issues.push({
      path: 'API_TLS_REQUIRED',
      message: 'requiring client certificates needs API_TLS_CA',
    });
  return issues;
}

export function readApiEnv(env: NodeJS.ProcessEnv = process.env): ApiEnv {
  const fail = (issues: EnvIssue[]) => configError('API', issues);
  const parsed = ApiEnv.safeParse(env);
  if (!parsed.success) {
    throw fail(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  const conn = connectionsFromEnv(parsed.data);
  const issues = [...checkSecurity(parsed.data), ...conn.issues];
  if (issues.length) throw fail(issues);
  const auth = defaultAuth(parsed.data);
  return {
    ...parsed.data,
    STORAGE_ACCESS_KEY: conn.storage.STORAGE_ACCESS_KEY,
    STORAGE_SECRET_KEY: conn.storage.STORAGE_SECRET_KEY,
    redis: conn.redis,
    API_AUTH: auth,
    API_TLS_REQUIRED:
      parsed.data.API_TLS_REQUIRED ?? (Boolean(parsed.data.API_TLS_CA) && auth === 'mtls'),
  };
}
