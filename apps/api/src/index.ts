/**
 * The API process: configuration, logger, clients, listen, and the one shutdown path (the shared
 * lifecycle of `@joblet/logging`). Everything else is in `buildApp()`. A bad variable, an
 * unreadable TLS or catalog file, an address it cannot listen on, or wrong Redis credentials exit
 * 78 (EX_CONFIG) naming it.
 */
import { configOrExit, exitOnStartFailure, onShutdown } from '@joblet/logging';
import {
  Keys,
  RedisConfigError,
  createRedisConnection,
  publishRetentionPolicy,
  redactRedisUrl,
  verifyRedis,
} from '@joblet/queue';
import { builtinCatalog, loadCatalogFile, mergeCatalogs } from '@joblet/spec';
import { createArtifactStore } from '@joblet/storage';
import { buildApp } from './app.js';
import { runTokenCommand } from './auth/bootstrap-token.js';
import { securityFromEnv } from './auth/security.js';
import { readApiEnv } from './env.js';
import { ListenConfigError, listenError } from './listen-error.js';
import { createApiLogger, redactUrl } from './logger.js';
import { scheduleGc } from './services/gc-schedule.js';
import { retentionFromEnv } from './services/retention.js';

const env = configOrExit(() => readApiEnv());
// `index.js create-token …` makes a first admin token and exits instead of serving.
if (await runTokenCommand(process.argv.slice(2), env)) process.exit();
const logger = createApiLogger(env.LOG_LEVEL);
// The files the variables name: their errors name the variable.
const { security, catalog } = configOrExit(() => ({
  security: securityFromEnv(env),
  catalog: env.CATALOG_FILE ? readCatalog(env.CATALOG_FILE) : builtinCatalog,
}));
const store = createArtifactStore(env.STORAGE_URL, {
  accessKey: env.STORAGE_ACCESS_KEY,
  secretKey: env.STORAGE_SECRET_KEY,
});
const retention = retentionFromEnv(env);
// Wrong Redis credentials or an ACL without the farm's keys are configuration (exit 78); any other
// failure to start is a crash (exit 1).
const failStart = (err: unknown) =>
  exitOnStartFailure(logger, err, {
    app: 'api',
    configErrors: [RedisConfigError, ListenConfigError],
  });

const redisConfig = { ...env.redis, prefix: env.QUEUE_PREFIX };
const redis = await (async () => {
  await store.ensureReady();
  await verifyRedis(redisConfig);
  return createRedisConnection(redisConfig);
})().catch(failStart);
const app = await (async () => {
  // Workers and agents finish builds and jobs too: they read the TTLs from here.
  await publishRetentionPolicy(redis, new Keys(env.QUEUE_PREFIX), retention);
  const built = await buildApp({
    redis,
    store,
    prefix: env.QUEUE_PREFIX,
    catalog,
    architectures: env.FARM_ARCHITECTURES,
    retention,
    defaultRuntime: env.API_DEFAULT_RUNTIME,
    quotas: {
      jobsActive: env.API_QUOTA_JOBS_ACTIVE,
      volumes: env.API_QUOTA_VOLUMES,
      buildsQueued: env.API_QUOTA_BUILDS_QUEUED,
    },
    defaultNetwork: env.API_DEFAULT_NETWORK,
    logger,
    security,
  });
  await built.listen({ host: env.API_HOST, port: env.API_PORT }).catch((err: unknown) => {
    throw listenError(err, env.API_HOST, env.API_PORT);
  });
  return built;
})().catch(failStart);
const stopGc = scheduleGc(app.gc, env.GC_INTERVAL_S, logger);

onShutdown({
  log: logger,
  // Requests in flight get up to 10 s; SSE streams are cut at once (clients resume elsewhere).
  deadlineMs: 10_000,
  steps: [
    // 1. Stop taking work: no new garbage collection.
    { name: 'stop gc', run: stopGc },
    // 2. Stop accepting requests and let those in flight finish (SSE streams end with them);
    //    the app's onClose hooks then close the BullMQ queues it opened.
    { name: 'close http server and queues', run: () => app.close() },
    // 3. Close the clients everything used: the store, then Redis.
    { name: 'close store', run: () => store.close() },
    { name: 'close redis', run: () => redis.disconnect() },
  ],
});

logger.info(
  {
    scheme: security.tls ? 'https' : 'http',
    auth: env.API_AUTH,
    allowedHosts: security.hosts,
    clientCertRequired: Boolean(security.tls?.requireClientCert),
    redis: redactRedisUrl(env.REDIS_URL),
    redisUser: env.redis.username,
    storage: redactUrl(env.STORAGE_URL),
    retention: { ...retention, gcIntervalS: env.GC_INTERVAL_S },
  },
  'api ready',
);
if (env.API_AUTH === 'none') {
  // Asked for explicitly (the default is `token`): say plainly what it means.
  logger.warn(
    { auth: 'none', host: env.API_HOST },
    'API_AUTH=none: every process and user on this machine is the farm admin',
  );
}

function readCatalog(path: string) {
  try {
    return mergeCatalogs(builtinCatalog, loadCatalogFile(path));
  } catch (err) {
    throw new Error(`CATALOG_FILE: ${(err as Error).message}`, { cause: err });
  }
}
