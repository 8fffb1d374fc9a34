/**
 * The agent's configuration: the only file that reads `process.env`, parsed once at start-up.
 * A bad value stops the start with a message naming the variable.
 */
import { availableParallelism, hostname, machine } from 'node:os';
import { z } from 'zod';
import { checkStoreUrl } from '@joblet/storage';
import { RedisUrlEnv, connectionsFromEnv } from '@joblet/queue';
import {
  ARCHITECTURES,
  DnsServersEnv,
  EgressAllowEnv,
  NODE_NAME,
  archFromUname,
  configError,
  nodeNameFromHostname,
  withoutEmptyValues,
  type Arch,
  type EgressAllow,
} from '@joblet/spec';
import type { TrustedKey } from '@joblet/artifact';
import type { WorkDiskSettings } from './jobs/work-disks.js';
import { DEFAULT_JOB_CPU_PERCENT, DEFAULT_JOB_MEMORY_MB } from './jobs/limits.js';
import type { JobMirrors } from './job-mirrors.js';
import { readTrustedKeys } from './trusted-keys-env.js';

const MiB = 1024 * 1024;

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL')
  .optional();

const seconds = (def: number, max = 24 * 3600) =>
  z.coerce.number().int().min(1).max(max).default(def);

const absolutePath = (def: string) =>
  z
    .string()
    .startsWith('/', 'an absolute path')
    .refine((p) => p.replace(/\/+$/, '') !== '', 'a directory other than /')
    .transform((p) => p.replace(/\/+$/, ''))
    .default(def);

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/** `k=v,k=v` → record; a malformed pair is a config error naming it. */
const labels = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const pair of s.split(',').map((p) => p.trim())) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      if (eq < 0 || !LABEL_KEY.test(key) || pair.length - eq - 1 > 256) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not key=value (e.g. gpu=a100)` });
        return z.NEVER;
      }
      out[key] = pair.slice(eq + 1);
    }
    return out;
  });

const AgentEnv = z.object({
  /** The node's name in the farm; default: the hostname, lowercased and sanitized. */
  AGENT_NAME: z.string().regex(NODE_NAME, 'lowercase letters, digits, "." and "-"').optional(),
  /** Architecture served; default `uname -m`. An amd64 host with QEMU can run an arm64 agent. */
  AGENT_ARCH: z.enum(ARCHITECTURES).optional(),
  /**
   * For an AGENT_ARCH the host cannot run natively: register QEMU's binfmt_misc handler (F flag)
   * at start (as root, mounting binfmt_misc if needed) and unregister it at shutdown.
   */
  AGENT_REGISTER_BINFMT: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  AGENT_LABELS: labels,
  /**
   * Most jobs taken from the queue at once; which of them run is decided by what they reserve
   * (AGENT_JOB_CPU_PERCENT, AGENT_JOB_MEMORY_MB, AGENT_MEMORY_MB). Default: as many jobs
   * without limits as the node's cores hold (cores × 100 / AGENT_JOB_CPU_PERCENT).
   */
  AGENT_CAPACITY: z.coerce.number().int().min(1).max(4096).optional(),
  /** CPU a job without `--max-cpu`/`--cpu-cores` reserves (100 = one core). */
  AGENT_JOB_CPU_PERCENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(DEFAULT_JOB_CPU_PERCENT),
  /** Memory a job without `--max-memory` reserves (MB). */
  AGENT_JOB_MEMORY_MB: z.coerce.number().int().min(1).default(DEFAULT_JOB_MEMORY_MB),
  /** Memory this node offers jobs (MB); default: what is free when the agent starts. */
  AGENT_MEMORY_MB: z.coerce.number().int().min(1).optional(),
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
  RUNTIMES_DIR: absolutePath('/opt/joblet/runtimes'),
  /** Per-job working directories (bound writable at /work in the sandbox). */
  AGENT_WORK_DIR: absolutePath('/var/lib/joblet/work'),
  AGENT_HEARTBEAT_S: seconds(5, 3600),
  AGENT_RECONCILE_S: seconds(60),
  /** Free disk an install must leave on the runtimes filesystem (MiB). */
  AGENT_MIN_FREE_MB: z.coerce.number().int().min(0).default(1024),
  /** Largest runtime accepted, as its uncompressed tar stream (MiB); guards against zip bombs. */
  AGENT_MAX_ARTIFACT_MB: z.coerce.number().int().min(1).default(16_384),
  /** Downloads/extractions of different runtimes at once. */
  AGENT_INSTALL_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** After SIGTERM, installs in progress get this long to finish before they are aborted (s). */
  AGENT_SHUTDOWN_TIMEOUT_S: seconds(30, 3600),
  /** Named volumes (`rnx volume create`), bound at /volumes/<name> in the jobs that ask. */
  AGENT_VOLUMES_DIR: absolutePath('/var/lib/joblet/volumes'),
  /** A running job's queue lock (s): a node silent this long has its jobs failed as lost. */
  AGENT_JOB_LOCK_S: seconds(30, 600),
  /**
   * MB of /work (uploads included) for a job without `--max-disk`: /work is then a filesystem of
   * its own of this size (a sparse ext4 image, loop-mounted), so a job cannot fill the node's
   * disk. `0`: no limit (a plain directory on AGENT_WORK_DIR's disk).
   */
  AGENT_JOB_DISK_MB: z.coerce
    .number()
    .int()
    .min(0)
    .max(1024 * 1024)
    .default(1024),
  /** The largest `--max-disk` (MB) this node accepts; a job asking more fails naming it. */
  AGENT_JOB_DISK_MAX_MB: z.coerce
    .number()
    .int()
    .min(8)
    .max(1024 * 1024)
    .default(65_536),
  /** /work filesystems of the default size made ahead, so a job's start does not wait for one. */
  AGENT_JOB_DISK_POOL: z.coerce.number().int().min(0).max(64).default(4),
  /** Tasks (processes and threads) a job may have when it sets no maxProcesses. */
  AGENT_JOB_PIDS_MAX: z.coerce.number().int().min(8).max(4_194_304).default(4096),
  /**
   * Nameservers of `--network isolated` (egress) jobs and of bridge and custom network jobs
   * (comma-separated IPs), instead of slirp4netns's forwarder to this node's resolver (isolated)
   * or this node's own non-loopback nameservers (bridge networks); needed where that resolver is on loopback with no known
   * upstream (a container: Docker's 127.0.0.11).
   */
  AGENT_EGRESS_DNS: DnsServersEnv,
  /**
   * Exceptions to the egress policy of `isolated`, `bridge` and custom network jobs (comma-separated addresses, CIDR
   * ranges or address:port): by default they reach the public internet and DNS only, never
   * loopback, this node's own addresses, private, CGNAT or link-local ranges.
   */
  AGENT_EGRESS_ALLOW: EgressAllowEnv,
  /**
   * A PyPI mirror (PEP 503 "simple" index) handed to every job as PIP_INDEX_URL (job-mirrors.ts);
   * jobs that reach out may reach it at its port although it is on the LAN.
   */
  AGENT_JOB_PIP_INDEX_URL: httpUrl,
  /** An npm registry handed to every job as npm_config_registry, reachable like the pip mirror. */
  AGENT_JOB_NPM_REGISTRY: httpUrl,
  /**
   * Run `network: host` jobs here (the node's network, loopback included: Redis, the API). Off by
   * default: only a node set aside for them says yes. The API sends host jobs (admin only) to such
   * nodes; this agent refuses them otherwise, whatever the API decided.
   */
  AGENT_ALLOW_HOST_NETWORK: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of the probes (`/livez`, `/readyz`); unset: none served. */
  AGENT_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  AGENT_HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Public keys (PEM Ed25519 files, comma-separated absolute paths) whose manifest signatures
   * are accepted; required. Lists several during a key rotation.
   */
  AGENT_TRUSTED_KEYS: z.string().optional(),
});

/** Everything the agent is configured with (units in the names). */
export interface AgentConfig {
  name: string;
  arch: Arch;
  /** AGENT_REGISTER_BINFMT: register the QEMU handler for a foreign `arch` if it is missing. */
  registerBinfmt?: boolean;
  labels: Record<string, string>;
  capacity: number;
  redisUrl: string;
  /** REDIS_USERNAME and REDIS_PASSWORD(_FILE): this app's credentials when the URL has none. */
  redisUsername?: string;
  redisPassword?: string;
  queuePrefix: string;
  storageUrl: string;
  storageAccessKey?: string;
  storageSecretKey?: string;
  runtimesDir: string;
  workDir: string;
  heartbeatIntervalMs: number;
  reconcileIntervalMs: number;
  minFreeBytes: number;
  maxArtifactBytes: number;
  installConcurrency: number;
  shutdownTimeoutMs: number;
  logLevel: string;
  /** AGENT_HEALTH_HOST and _PORT: where `/livez` and `/readyz` are served, if anywhere. */
  health?: { host: string; port: number };
  /** AGENT_TRUSTED_KEYS: an artifact is installed only with a valid signature by one of them. */
  trustedKeys: TrustedKey[];
  /** Job runner settings (optional: defaults in the JobRunner). AGENT_VOLUMES_DIR. */
  volumesDir?: string;
  /** AGENT_JOB_LOCK_S in ms. */
  jobLockMs?: number;
  /** AGENT_JOB_PIDS_MAX. */
  jobPidsMax?: number;
  /** AGENT_JOB_CPU_PERCENT, AGENT_JOB_MEMORY_MB, AGENT_MEMORY_MB (admission, in bytes). */
  resources?: { defaultCpuPercent?: number; defaultMemoryBytes?: number; memoryBytes?: number };
  /** AGENT_JOB_DISK_MB, AGENT_JOB_DISK_MAX_MB, AGENT_JOB_DISK_POOL. */
  workDisks?: WorkDiskSettings;
  /** AGENT_EGRESS_DNS. */
  egressDns?: string[];
  /** AGENT_EGRESS_ALLOW. */
  egressAllow?: EgressAllow[];
  /** AGENT_ALLOW_HOST_NETWORK: run `network: host` jobs (reported in the heartbeat); default no. */
  allowHostNetwork?: boolean;
  /** AGENT_JOB_PIP_INDEX_URL, AGENT_JOB_NPM_REGISTRY (job-mirrors.ts). */
  jobMirrors?: JobMirrors;
}

/**
 * Reads the configuration from `env` (default `process.env`).
 * @throws Error listing every bad variable by name.
 */
export function readAgentEnv(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = AgentEnv.safeParse(withoutEmptyValues(env));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw configError('agent', issues);
  }
  const e = parsed.data;
  const { redis, storage, issues } = connectionsFromEnv(e);
  if (issues.length > 0) throw configError('agent', issues);
  const arch = e.AGENT_ARCH ?? archFromUname(machine());
  if (!arch) {
    throw new Error(
      `invalid agent configuration:\n  AGENT_ARCH: unset, and this host's architecture ` +
        `(${machine()}) is not one the farm knows (${ARCHITECTURES.join(', ')})`,
    );
  }
  if (e.AGENT_JOB_DISK_MB > e.AGENT_JOB_DISK_MAX_MB) {
    throw configError('agent', [
      {
        path: 'AGENT_JOB_DISK_MB',
        message: `${e.AGENT_JOB_DISK_MB} is more than AGENT_JOB_DISK_MAX_MB (${e.AGENT_JOB_DISK_MAX_MB})`,
      },
    ]);
  }
  if (e.AGENT_JOB_DISK_MB > 0 && e.AGENT_JOB_DISK_MB < 8) {
    throw configError('agent', [
      { path: 'AGENT_JOB_DISK_MB', message: 'at least 8 (MB), or 0 for no limit' },
    ]);
  }
  const trustedKeys = readTrustedKeys(e.AGENT_TRUSTED_KEYS);
  return {
    name: e.AGENT_NAME ?? nodeNameFromHostname(hostname()),
    arch,
    registerBinfmt: e.AGENT_REGISTER_BINFMT,
    labels: e.AGENT_LABELS,
    capacity:
      e.AGENT_CAPACITY ??
      Math.max(1, Math.floor((availableParallelism() * 100) / e.AGENT_JOB_CPU_PERCENT)),
    redisUrl: e.REDIS_URL,
    ...(redis.username !== undefined && { redisUsername: redis.username }),
    ...(redis.password !== undefined && { redisPassword: redis.password }),
    queuePrefix: e.QUEUE_PREFIX,
    storageUrl: e.STORAGE_URL,
    ...(storage.STORAGE_ACCESS_KEY !== undefined && {
      storageAccessKey: storage.STORAGE_ACCESS_KEY,
    }),
    ...(storage.STORAGE_SECRET_KEY !== undefined && {
      storageSecretKey: storage.STORAGE_SECRET_KEY,
    }),
    runtimesDir: e.RUNTIMES_DIR,
    workDir: e.AGENT_WORK_DIR,
    heartbeatIntervalMs: e.AGENT_HEARTBEAT_S * 1000,
    reconcileIntervalMs: e.AGENT_RECONCILE_S * 1000,
    minFreeBytes: e.AGENT_MIN_FREE_MB * MiB,
    maxArtifactBytes: e.AGENT_MAX_ARTIFACT_MB * MiB,
    installConcurrency: e.AGENT_INSTALL_CONCURRENCY,
    shutdownTimeoutMs: e.AGENT_SHUTDOWN_TIMEOUT_S * 1000,
    logLevel: e.LOG_LEVEL,
    ...(e.AGENT_HEALTH_PORT !== undefined && {
      health: { host: e.AGENT_HEALTH_HOST, port: e.AGENT_HEALTH_PORT },
    }),
    trustedKeys,
    volumesDir: e.AGENT_VOLUMES_DIR,
    jobLockMs: e.AGENT_JOB_LOCK_S * 1000,
    jobPidsMax: e.AGENT_JOB_PIDS_MAX,
    resources: {
      defaultCpuPercent: e.AGENT_JOB_CPU_PERCENT,
      defaultMemoryBytes: e.AGENT_JOB_MEMORY_MB * MiB,
      ...(e.AGENT_MEMORY_MB !== undefined && { memoryBytes: e.AGENT_MEMORY_MB * MiB }),
    },
    workDisks: {
      defaultMB: e.AGENT_JOB_DISK_MB,
      maxMB: e.AGENT_JOB_DISK_MAX_MB,
      pool: e.AGENT_JOB_DISK_POOL,
    },
    ...(e.AGENT_EGRESS_DNS ? { egressDns: e.AGENT_EGRESS_DNS } : {}),
    ...(e.AGENT_EGRESS_ALLOW?.length ? { egressAllow: e.AGENT_EGRESS_ALLOW } : {}),
    allowHostNetwork: e.AGENT_ALLOW_HOST_NETWORK,
    jobMirrors: {
      ...(e.AGENT_JOB_PIP_INDEX_URL && { pipIndexUrl: e.AGENT_JOB_PIP_INDEX_URL }),
      ...(e.AGENT_JOB_NPM_REGISTRY && { npmRegistry: e.AGENT_JOB_NPM_REGISTRY }),
    },
  };
}
