/**
 * Test fixtures for the API: real Redis (127.0.0.1:6379, or REDIS_URL, or the settings a test
 * gives: a cluster, an ACL user) under a prefix of the test's own, and a real directory store in
 * a temp dir. Never mocks.
 */
import {
  buildRuntimeYml,
  builtinCatalog,
  findCatalogEntry,
  validateRuntimeSpec,
  type Arch,
  type InstallFailureData,
  type NodeRuntimeStatus,
  type NodeInfo,
} from '@joblet/spec';
import {
  createRedisConnection,
  deleteKeys,
  isClusterUrl,
  queuePrefix,
  type RedisClient,
  type RedisSettings,
} from '@joblet/queue';
import {
  createArtifactStore,
  indexKey,
  runtimeArchiveKey,
  type ArtifactStore,
} from '@joblet/storage';
import { makeTempDir, uniqueName } from '@joblet/testkit';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { DEFAULT_SECURITY, type SecurityOptions } from './auth/security.js';
import type { FarmOptions } from './plugins/farm-clients.js';
import type { QuotaLimits } from './services/quota-service.js';
import type { FarmRetention } from './services/retention.js';

// For tests and benchmarks outside this package (`@joblet/api/testing`): what they build an API
// or its security from, so they never reach into this package by relative paths.
export { buildApp } from './app.js';
export { readApiEnv } from './env.js';
export { AuthKeys } from './auth/auth-keys.js';
export type { SecurityOptions } from './auth/security.js';
export { DEFAULT_RETENTION } from './services/retention.js';
export { TokenService } from './services/token-service.js';
export * from './testing-pki.js';

export interface TestApi {
  /** The app; its decorators (`keys`, `buildStore`, `jobs`, `buildQueues`…) are the services. */
  app: FastifyInstance;
  /** The clients and settings `app` was built with: another `buildApp()` over the same farm. */
  farm: FarmOptions;
  redis: RedisClient;
  store: ArtifactStore;
  prefix: string;
  /** `http(s)://127.0.0.1:<port>` when started with `listen`. */
  url?: string;
  close(): Promise<void>;
}

export interface TestApiOptions {
  /** Default: plain HTTP, `API_AUTH=none`, the default bounds. */
  security?: Partial<SecurityOptions>;
  /** Listen on 127.0.0.1, on a free port (for clients over real sockets: TLS, SSE, the CLI). */
  listen?: boolean;
  /** Retention and GC policy; default: the farm's defaults. */
  retention?: FarmRetention;
  /** Per-identity quotas; default: the farm's defaults. */
  quotas?: QuotaLimits;
  /** Which Redis, as whom; default REDIS_URL or 127.0.0.1:6379. A cluster gets a tagged prefix. */
  redis?: RedisSettings;
  /** The queue prefix; default one of the test's own. */
  prefix?: string;
  /**
   * The artifact store (`file://…`), shared with agents a test starts; default a temp directory
   * of the API's own (removed by `close()`; a given store is the caller's to clean up).
   */
  storeUrl?: string;
  /** API_DEFAULT_NETWORK; default `none`. */
  defaultNetwork?: string;
  /** API_DEFAULT_RUNTIME; default the farm's own. */
  defaultRuntime?: string;
}

export async function startTestApi(
  architectures: Arch[] = ['amd64', 'arm64'],
  opts: TestApiOptions = {},
): Promise<TestApi> {
  const settings = opts.redis ?? { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
  const prefix = opts.prefix ?? queuePrefix(uniqueName('api'), isClusterUrl(settings.url));
  const redis = createRedisConnection({ ...settings, prefix });
  const dir = await makeTempDir('api-store-');
  const store = createArtifactStore(opts.storeUrl ?? `file://${dir.path}`);
  await store.ensureReady();
  const security = { ...DEFAULT_SECURITY, ...opts.security };
  const farm: FarmOptions = {
    redis,
    store,
    prefix,
    catalog: builtinCatalog,
    architectures,
    retention: opts.retention,
    quotas: opts.quotas,
    ...(opts.defaultNetwork !== undefined && { defaultNetwork: opts.defaultNetwork }),
    ...(opts.defaultRuntime !== undefined && { defaultRuntime: opts.defaultRuntime }),
  };
  const app = await buildApp({ ...farm, logger: false, security });
  await app.ready();
  let url: string | undefined;
  if (opts.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    url = `${security.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  }
  return {
    app,
    url,
    farm,
    redis,
    store,
    prefix,
    async close() {
      await app.close(); // and the queues it opened
      await deleteKeys(redis, `${prefix}:*`);
      redis.disconnect();
      await store.close();
      await dir.cleanup();
    },
  };
}

/**
 * Publishes an index entry as the publisher writes it (runtime.yml built for real), with a
 * placeholder archive: for API tests that need published runtimes but no real artifact.
 */
export async function publishFakeRuntime(
  t: TestApi,
  name: string,
  version: string,
  arches: Arch[],
  language = 'python',
  lv = '3.11',
) {
  const text = `schema_version: "1.0"\nname: ${name}\nversion: ${version}\ndescription: ${name} test\nbase: { language: ${language}, version: "${lv}" }\n`;
  const spec = validateRuntimeSpec(text).spec!;
  const entry = findCatalogEntry(builtinCatalog, language, lv)!;
  const archEntries = Object.fromEntries(
    arches.map((arch) => {
      const runtimeYml = buildRuntimeYml({
        spec,
        originalYaml: text,
        arch,
        catalogEntry: entry,
        resolved: { pip: [], npm: [], system: ['python3=3.11.2-1'] },
        presentDirs: ['usr/bin', 'usr/lib'],
        builtAt: new Date(),
        builderVersion: '1',
      });
      return [
        arch,
        {
          arch,
          archiveKey: runtimeArchiveKey(name, version, arch),
          manifestKey: `runtimes/${name}/${version}/${arch}/manifest.json`,
          sha256: 'b'.repeat(64),
          size: 41_000_000,
          treeHash: `tree-${arch}`,
          treeBytes: 130_000_000,
          buildKey: `${name}-${version}-${arch}`.replace(/\./g, '_'),
          runtimeYml,
        },
      ];
    }),
  );
  await t.store.putJson(indexKey(name, version), {
    schema: 1,
    name,
    version,
    description: `${name} test`,
    language,
    languageVersion: lv,
    publishedAt: new Date().toISOString(),
    buildId: '00000000-0000-4000-8000-000000000000',
    arches: archEntries,
  });
  await t.store.put(runtimeArchiveKey(name, version, arches[0]!), 'archive');
}

/** Registers a node the way its agent's heartbeat does, with installed runtimes. */
export async function registerNode(
  t: TestApi,
  name: string,
  arch: Arch,
  installed: string[],
  heartbeatAgoMs = 0,
  extra: Partial<NodeInfo> = {},
) {
  const info = {
    name,
    arch,
    labels: {},
    capacity: 2,
    agentVersion: '0.1.0',
    runtimesDir: '/opt/joblet/runtimes',
    startedAt: new Date().toISOString(),
    lastHeartbeat: new Date(Date.now() - heartbeatAgoMs).toISOString(),
    disk: { freeBytes: 10e9, totalBytes: 20e9 },
    ...extra,
  };
  await t.redis.sadd(t.app.keys.nodes, name);
  await t.redis.set(t.app.keys.node(name), JSON.stringify(info));
  for (const ref of installed) {
    const [n, v] = ref.split('@') as [string, string];
    await t.redis.hset(
      t.app.keys.nodeRuntimes(name),
      ref,
      JSON.stringify({
        name: n,
        version: v,
        arch,
        state: 'installed',
        treeHash: `tree-${arch}`,
        updatedAt: new Date().toISOString(),
      }),
    );
  }
}

/**
 * Reports, as node `name`'s agent does (StatusReporter), that it refused or failed to install
 * `ref` (`name@version`): state `failed`, the failure as data and its message in `error`.
 */
export async function reportInstallFailure(
  t: TestApi,
  node: string,
  arch: Arch,
  ref: string,
  failure: InstallFailureData,
) {
  const [n, v] = ref.split('@') as [string, string];
  const status: NodeRuntimeStatus = {
    name: n,
    version: v,
    arch,
    state: 'failed',
    error: failure.message,
    failure,
    updatedAt: new Date().toISOString(),
  };
  await t.redis.hset(t.app.keys.nodeRuntimes(node), ref, JSON.stringify(status));
}
