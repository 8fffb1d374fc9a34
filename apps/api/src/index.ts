/**
 * The API process: configuration, logger, clients, listen, and one shutdown path.
 * Everything else is in `buildApp()`.
 */
import { createLogger } from '@joblet/logging';
import { createRedis } from '@joblet/queue';
import { builtinCatalog, loadCatalogFile, mergeCatalogs } from '@joblet/spec';
import { createArtifactStore } from '@joblet/storage';
import { buildApp } from './app.js';
import { readApiEnv } from './env.js';
import { createServices } from './services/services.js';

const env = readApiEnv();
const logger = createLogger({ name: 'api', level: env.LOG_LEVEL });
const catalog = env.CATALOG_FILE
  ? mergeCatalogs(builtinCatalog, loadCatalogFile(env.CATALOG_FILE))
  : builtinCatalog;
const store = createArtifactStore(env.STORAGE_URL, {
  accessKey: env.STORAGE_ACCESS_KEY,
  secretKey: env.STORAGE_SECRET_KEY,
});
await store.ensureReady();
const redis = createRedis({ url: env.REDIS_URL });
const services = createServices({
  redis,
  store,
  prefix: env.QUEUE_PREFIX,
  catalog,
  architectures: env.FARM_ARCHITECTURES,
});
const app = await buildApp({ services, logger });
await app.listen({ host: env.API_HOST, port: env.API_PORT });

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
  // 1. stop accepting requests and let those in flight finish (SSE streams end with them);
  // 2. close queues; 3. close the store and Redis, which everything above used.
  await app.close();
  await services.close();
  await store.close();
  redis.disconnect();
  clearTimeout(deadline);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
