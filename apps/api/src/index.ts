/**
 * The API process: configuration, logger, clients, listen, and one shutdown path.
 * Everything else is in `buildApp()`.
 */
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
import { createApiLogger, redactUrl } from './logger.js';
import { scheduleGc } from './services/gc-schedule.js';
import { retentionFromEnv } from './services/retention.js';
import { createServices } from './services/services.js';

const env = readApiEnv();
// `index.js create-token …` makes a first admin token and exits instead of serving.
if (await runTokenCommand(process.argv.slice(2), env)) process.exit();
const logger = createApiLogger(env.LOG_LEVEL);
const security = securityFromEnv(env);
const catalog = env.CATALOG_FILE
  ? mergeCatalogs(builtinCatalog, loadCatalogFile(env.CATALOG_FILE))
  : builtinCatalog;
const store = createArtifactStore(env.STORAGE_URL, {
  accessKey: env.STORAGE_ACCESS_KEY,
  secretKey: env.STORAGE_SECRET_KEY,
});
await store.ensureReady();
const redisConfig = { ...env.redis, prefix: env.QUEUE_PREFIX };
// Wrong credentials or an ACL without the farm's keys: refuse to start, saying which (EX_CONFIG).
await verifyRedis(redisConfig).catch((err: unknown) => {
  if (!(err instanceof RedisConfigError)) throw err;
  logger.fatal({ code: err.code }, err.message);
  process.stderr.write(`${err.message}\n`);
  process.exit(78);
});
const redis = createRedisConnection(redisConfig);
const retention = retentionFromEnv(env);
// Workers and agents finish builds and jobs too: they read the TTLs from here.
await publishRetentionPolicy(redis, new Keys(env.QUEUE_PREFIX), retention);
const services = createServices({
  redis,
  store,
  prefix: env.QUEUE_PREFIX,
  catalog,
  architectures: env.FARM_ARCHITECTURES,
  retention,
});
const app = await buildApp({ services, logger, security });
await app.listen({ host: env.API_HOST, port: env.API_PORT });
const stopGc = scheduleGc(services.gc, env.GC_INTERVAL_S, logger);
logger.info(
  {
    scheme: security.tls ? 'https' : 'http',
    auth: env.API_AUTH,
    clientCertRequired: Boolean(security.tls?.requireClientCert),
    redis: redactRedisUrl(env.REDIS_URL),
    redisUser: env.redis.username,
    storage: redactUrl(env.STORAGE_URL),
    retention: { ...retention, gcIntervalS: env.GC_INTERVAL_S },
  },
  'api ready',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const deadline = setTimeout(() => {
    logger.error('shutdown deadline passed; exiting');
    process.exit(1);
  }, 10_000);
  deadline.unref();
  // 0. no new garbage collection; 1. stop accepting requests and let those in flight finish (SSE
  // streams end with them); 2. close queues; 3. close the store and Redis, which all used.
  stopGc();
  await app.close();
  await services.close();
  await store.close();
  redis.disconnect();
  clearTimeout(deadline);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
