/**
 * The worker's configuration: the only file that reads `process.env`, parsed once at start-up.
 * A bad value stops the start with a message naming the variable.
 */
import { existsSync } from 'node:fs';
import { hostname, machine } from 'node:os';
import { z } from 'zod';
import { checkStoreUrl } from '@joblet/storage';
import { RedisUrlEnv, connectionsFromEnv } from '@joblet/queue';
import {
  ARCHITECTURES,
  DnsServersEnv,
  EgressAllowEnv,
  archFromUname,
  configError,
  parseToolchainMirrors,
  withoutEmptyValues,
  type Arch,
  type EgressAllow,
  type ToolchainProject,
} from '@joblet/spec';
import type { SigningKey } from '@joblet/artifact';
import { SUBID_COUNT, type IdRange } from '@joblet/sandbox';
import { readSigningKeys } from './signing-key-env.js';

const seconds = (def: number, max = 7 * 24 * 3600) =>
  z.coerce.number().int().min(1).max(max).default(def);

const flag = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL')
  .optional();

const WorkerEnv = z.object({
  /** Architecture of the pool this worker serves; default: the host's (`uname -m`). */
  WORKER_ARCH: z.enum(ARCHITECTURES).optional(),
  /** Builds run at the same time by this process. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Shown in logs and build events; default `<hostname>-<pid>`. */
  WORKER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, ".", "_" and "-" (at most 128)')
    .optional(),
  /** One server, Sentinel or Cluster URL, as libs/queue/src/redis-env.ts describes. */
  REDIS_URL: RedisUrlEnv,
  /** This app's Redis ACL user and password, when REDIS_URL carries none (or a file holding it). */
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_PASSWORD_FILE: z.string().optional(),
  /** BullMQ key prefix and the prefix of the farm's own Redis keys. */
  QUEUE_PREFIX: z.string().min(1).default('joblet'),
  STORAGE_URL: z.string().default('file:///var/lib/joblet-farm/store').superRefine(checkStoreUrl),
  STORAGE_ACCESS_KEY: z.string().optional(),
  STORAGE_SECRET_KEY: z.string().optional(),
  /** Files holding the store's keys, instead of STORAGE_ACCESS_KEY/STORAGE_SECRET_KEY. */
  STORAGE_ACCESS_KEY_FILE: z.string().optional(),
  STORAGE_SECRET_KEY_FILE: z.string().optional(),
  /** Operator's base catalog (YAML/JSON) merged over the built-in one; must match the API's. */
  CATALOG_FILE: z.string().optional(),
  /** Base roots and apt/pip/npm download caches: on the host, kept across builds. */
  WORKER_CACHE_DIR: z
    .string()
    .startsWith('/', 'an absolute path')
    .default('/var/cache/joblet-farm'),
  /** Per-build work directories (overlay upper layers, archives before upload). */
  WORKER_WORK_DIR: z
    .string()
    .startsWith('/', 'an absolute path')
    .default('/var/lib/joblet-farm/work'),
  /** Whole build, all steps (seconds). */
  WORKER_BUILD_TIMEOUT_S: seconds(3600),
  /** memory limit of a build's sandbox (MiB). */
  WORKER_BUILD_MEMORY_MB: z.coerce.number().int().min(64).default(4096),
  /** CPU limit of a build's sandbox, in percent of one core (200 = two cores). */
  WORKER_BUILD_CPU_PERCENT: z.coerce.number().int().min(10).max(100_000).default(200),
  WORKER_BUILD_PIDS_MAX: z.coerce.number().int().min(16).default(4096),
  /** After SIGTERM, running builds get this long to finish before they are handed back (s). */
  WORKER_SHUTDOWN_TIMEOUT_S: seconds(60),
  /** Upper bound on attempts per arch, whatever the job asks for. */
  WORKER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  /** BullMQ job lock; renewed every half of it while the build runs (s). */
  WORKER_LOCK_DURATION_S: seconds(30, 3600),
  /** How often this worker looks for jobs whose worker died (s). */
  WORKER_STALLED_INTERVAL_S: seconds(15, 3600),
  /** Debian mirror for builds; default: the host's configured one. */
  BUILD_APT_MIRROR: httpUrl,
  /** pip index (PEP 503 "simple" URL); default: pip's own (PyPI). */
  BUILD_PIP_INDEX_URL: httpUrl,
  /** npm registry; default: npm's own. */
  BUILD_NPM_REGISTRY: httpUrl,
  /**
   * Mirrors of upstream toolchains for farms without internet, as uv's UV_PYTHON_INSTALL_MIRROR:
   * comma-separated `project=URL` (projects: python-build-standalone, nodejs, npm-registry,
   * temurin, go, rust); the URL replaces the project's upstream prefix. sha256 pins still apply.
   */
  BUILD_TOOLCHAIN_MIRRORS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const r = parseToolchainMirrors(v);
      if (r.ok) return r.mirrors;
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }),
  /**
   * CA bundle (PEM) that pip, npm, apt (https mirrors) and hooks trust inside the sandbox, e.g.
   * behind a TLS-inspecting proxy. Default: the host's bundle when it exists; `none` disables.
   */
  BUILD_CA_BUNDLE: z.string().optional(),
  /**
   * `isolated`: each build command has its own network namespace with egress through
   * slirp4netns and no access to the host's loopback. `host`: the host's network (unsafe).
   */
  WORKER_BUILD_NETWORK: z.enum(['isolated', 'host']).default('isolated'),
  /**
   * Nameservers of isolated builds (comma-separated IPs), instead of slirp4netns's forwarder to
   * this host's. Needed where the host's resolver is on its loopback with no known upstream,
   * e.g. in a container (Docker's 127.0.0.11).
   */
  WORKER_BUILD_DNS: DnsServersEnv,
  /**
   * Exceptions to the egress policy of isolated builds (comma-separated addresses, CIDR ranges
   * or address:port): by default builds reach the public internet and DNS only, never loopback,
   * this host's own addresses, private, CGNAT or link-local ranges. The package sources the
   * worker is configured with (BUILD_*_MIRROR/URL/REGISTRY, the host's apt mirror) are allowed
   * without being listed here.
   */
  WORKER_BUILD_EGRESS_ALLOW: EgressAllowEnv,
  /**
   * First host uid and gid of the 65536 ids build sandboxes run as: root inside a build is this
   * unprivileged id outside (rootless builds). Must be delegated to root in /etc/subuid and
   * /etc/subgid (`root:100000:65536`, scripts/system-deps.sh) and to nobody else.
   */
  WORKER_BUILD_SUBID_BASE: z.coerce
    .number()
    .int()
    .min(65536, 'at least 65536 (ids below are the host users and nobody)')
    .max(0xfffffffe - SUBID_COUNT)
    .default(100000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of the probes (`/livez`, `/readyz`); unset: none served. */
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WORKER_HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  /** Also consume the publish queue (parents of build flows). */
  WORKER_PUBLISH: flag(true),
  /**
   * PEM Ed25519 private key(s) the publisher signs manifests with (comma-separated: each signs);
   * required with WORKER_PUBLISH. Arch-only workers (WORKER_PUBLISH=false) need none.
   */
  WORKER_SIGNING_KEY_FILE: z.string().optional(),
  /**
   * For a WORKER_ARCH the host cannot run natively: register QEMU's binfmt_misc handler (F flag)
   * at start (as root, mounting binfmt_misc if needed) and unregister it at shutdown.
   */
  WORKER_REGISTER_BINFMT: flag(false),
  /**
   * On Kubernetes (the downward API's metadata.name and metadata.namespace): the worker keeps its
   * pod's `controller.kubernetes.io/pod-deletion-cost` at 1000 × its running builds, so a
   * scale-in removes an idle worker first (k8s/pod-deletion-cost.ts).
   */
  WORKER_POD_NAME: z.string().optional(),
  WORKER_POD_NAMESPACE: z.string().optional(),
});

/** Everything the worker is configured with. */
export interface WorkerConfig {
  arch: Arch;
  concurrency: number;
  name: string;
  redisUrl: string;
  /** REDIS_USERNAME and REDIS_PASSWORD(_FILE): this app's credentials when the URL has none. */
  redisUsername?: string;
  redisPassword?: string;
  queuePrefix: string;
  storageUrl: string;
  storageAccessKey?: string;
  storageSecretKey?: string;
  catalogFile?: string;
  cacheDir: string;
  workDir: string;
  buildTimeoutS: number;
  buildMemoryMb: number;
  buildCpuPercent: number;
  buildPidsMax: number;
  shutdownTimeoutS: number;
  maxAttempts: number;
  lockDurationS: number;
  stalledIntervalS: number;
  aptMirror?: string;
  pipIndexUrl?: string;
  npmRegistry?: string;
  /** BUILD_TOOLCHAIN_MIRRORS: project → mirror base URL. */
  toolchainMirrors?: Partial<Record<ToolchainProject, string>>;
  /** Host path of the CA bundle given to builds, if any. */
  caBundle?: string;
  /** WORKER_BUILD_NETWORK. */
  buildNetwork: 'isolated' | 'host';
  /** WORKER_BUILD_DNS: nameservers of isolated builds (default: via slirp4netns). */
  buildDns?: string[];
  /**
   * What isolated builds may reach beyond the public internet: WORKER_BUILD_EGRESS_ALLOW, plus
   * (added at start-up by the network check) the configured package sources' address:port.
   */
  buildEgressAllow: EgressAllow[];
  /** WORKER_BUILD_SUBID_BASE: the host ids of build sandboxes (root inside = `first`). */
  buildSubids: IdRange;
  logLevel: string;
  /** WORKER_HEALTH_HOST and _PORT: where `/livez` and `/readyz` are served, if anywhere. */
  health?: { host: string; port: number };
  publish: boolean;
  /** Keys of WORKER_SIGNING_KEY_FILE; never empty when `publish`. */
  signingKeys: SigningKey[];
  /** Register the QEMU binfmt_misc handler for a foreign `arch` if it is missing. */
  registerBinfmt: boolean;
  /** WORKER_POD_NAME and WORKER_POD_NAMESPACE, both set: the worker's own pod. */
  pod?: { name: string; namespace: string };
}

/**
 * Reads the configuration from `env` (default `process.env`).
 * @throws Error listing every bad variable by name.
 */
export function readWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = WorkerEnv.safeParse(withoutEmptyValues(env));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw configError('worker', issues);
  }
  const e = parsed.data;
  const { redis, storage, issues } = connectionsFromEnv(e);
  if (issues.length > 0) throw configError('worker', issues);
  const arch = e.WORKER_ARCH ?? archFromUname(machine());
  if (!arch) {
    throw new Error(
      `invalid worker configuration:\n  WORKER_ARCH: unset, and this host's architecture ` +
        `(${machine()}) is not one the farm builds (${ARCHITECTURES.join(', ')})`,
    );
  }
  const caBundle = resolveCaBundle(e.BUILD_CA_BUNDLE);
  const signingKeys = readSigningKeys(e.WORKER_SIGNING_KEY_FILE, e.WORKER_PUBLISH);
  return {
    arch,
    concurrency: e.WORKER_CONCURRENCY,
    name: e.WORKER_NAME ?? `${hostname()}-${process.pid}`,
    redisUrl: e.REDIS_URL,
    ...(redis.username !== undefined && { redisUsername: redis.username }),
    ...(redis.password !== undefined && { redisPassword: redis.password }),
    queuePrefix: e.QUEUE_PREFIX,
    storageUrl: e.STORAGE_URL,
    storageAccessKey: storage.STORAGE_ACCESS_KEY,
    storageSecretKey: storage.STORAGE_SECRET_KEY,
    catalogFile: e.CATALOG_FILE,
    cacheDir: e.WORKER_CACHE_DIR,
    workDir: e.WORKER_WORK_DIR,
    buildTimeoutS: e.WORKER_BUILD_TIMEOUT_S,
    buildMemoryMb: e.WORKER_BUILD_MEMORY_MB,
    buildCpuPercent: e.WORKER_BUILD_CPU_PERCENT,
    buildPidsMax: e.WORKER_BUILD_PIDS_MAX,
    shutdownTimeoutS: e.WORKER_SHUTDOWN_TIMEOUT_S,
    maxAttempts: e.WORKER_MAX_ATTEMPTS,
    lockDurationS: e.WORKER_LOCK_DURATION_S,
    stalledIntervalS: e.WORKER_STALLED_INTERVAL_S,
    aptMirror: e.BUILD_APT_MIRROR?.replace(/\/+$/, ''),
    pipIndexUrl: e.BUILD_PIP_INDEX_URL,
    npmRegistry: e.BUILD_NPM_REGISTRY,
    ...(e.BUILD_TOOLCHAIN_MIRRORS && { toolchainMirrors: e.BUILD_TOOLCHAIN_MIRRORS }),
    caBundle,
    buildNetwork: e.WORKER_BUILD_NETWORK,
    ...(e.WORKER_BUILD_DNS ? { buildDns: e.WORKER_BUILD_DNS } : {}),
    buildEgressAllow: e.WORKER_BUILD_EGRESS_ALLOW ?? [],
    buildSubids: { first: e.WORKER_BUILD_SUBID_BASE, count: SUBID_COUNT },
    logLevel: e.LOG_LEVEL,
    ...(e.WORKER_HEALTH_PORT !== undefined && {
      health: { host: e.WORKER_HEALTH_HOST, port: e.WORKER_HEALTH_PORT },
    }),
    publish: e.WORKER_PUBLISH,
    signingKeys,
    registerBinfmt: e.WORKER_REGISTER_BINFMT,
    ...(e.WORKER_POD_NAME &&
      e.WORKER_POD_NAMESPACE && {
        pod: { name: e.WORKER_POD_NAME, namespace: e.WORKER_POD_NAMESPACE },
      }),
  };
}

/** The host's CA bundle on Debian and Ubuntu (with the operator's own CAs added to it). */
export const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function resolveCaBundle(value: string | undefined): string | undefined {
  if (value === 'none') return undefined;
  if (value === undefined) return existsSync(HOST_CA_BUNDLE) ? HOST_CA_BUNDLE : undefined;
  if (!value.startsWith('/') || !existsSync(value)) {
    throw new Error(
      `invalid worker configuration:\n  BUILD_CA_BUNDLE: ${value} is not an existing absolute path (or "none")`,
    );
  }
  return value;
}
