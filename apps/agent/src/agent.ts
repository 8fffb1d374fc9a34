/**
 * The agent: the start-up arch check, registration + heartbeat, runtime sync, the job runner
 * (jobs-<arch>, pinned jobs, volumes) and the node's own queue (runtime tests, pinned jobs,
 * volumes — all handled by the job runner), wired from an AgentConfig. Tests construct it
 * directly — no signals, no process exit — and may pass their own Redis, store, job sandbox or
 * logger.
 */
import { mkdir } from 'node:fs/promises';
import { silentLogger, type Logger } from '@joblet/logging';
import {
  Keys,
  createRedisConnection,
  verifyRedis,
  type RedisClient,
  type RedisConfig,
} from '@joblet/queue';
import type { ArchSupport } from '@joblet/sandbox';
import { createArtifactStore, type ArtifactStore } from '@joblet/storage';
import { ensureAgentArch } from './node/arch-check.js';
import type { AgentConfig } from './env.js';
import {
  ChildProcessExtractor,
  InProcessExtractor,
  findExtractChild,
  type Extractor,
} from './runtimes/extractor.js';
import { HeartbeatService } from './node/heartbeat.service.js';
import { JobRunner } from './jobs/job-runner.service.js';
import type { JobSandbox } from './jobs/job-sandbox.js';
import { NodeQueueWorker } from './node/node-queue.worker.js';
import { startAgentHealth, type AgentHealth } from './node/agent-health.js';
import { RuntimeSync } from './runtimes/runtime-sync.service.js';
import { AGENT_VERSION } from './version.js';
import { jobMirrorEnv } from './job-mirrors.js';

export interface AgentDeps {
  log?: Logger;
  /** Used for commands; default a new connection to config.redisUrl. Not closed if given. */
  redis?: RedisClient;
  /** Default `createArtifactStore(config.storageUrl)`. Not closed if given. */
  store?: ArtifactStore;
  /** Serve the node queue (runtime tests, pinned jobs, volumes; needs `jobs`). Default true. */
  nodeQueue?: boolean;
  /** Where extractions run; default a child process (dist/extract-child.js) when built. */
  extractor?: Extractor;
  /** Run jobs (`jobs-<arch>`, pinned jobs, volumes). Default true. */
  jobs?: boolean;
  /** The jobs' sandbox; default bubblewrap. */
  jobSandbox?: JobSandbox;
  /** Overrides for tests (ms). */
  timing?: { leasePollMs?: number; followBlockMs?: number };
}

export interface Agent {
  readonly config: AgentConfig;
  readonly keys: Keys;
  readonly sync: RuntimeSync;
  readonly heartbeat: HeartbeatService;
  readonly store: ArtifactStore;
  /** The job runner (undefined when `deps.jobs` is false). */
  readonly jobs: JobRunner | undefined;
  /**
   * Checks that this host executes the node's arch (arch-check.ts; refuses with
   * ArchUnsupportedError), registers the node, cleans leftovers, reconciles, then follows events
   * and serves its queue.
   */
  start(): Promise<void>;
  /**
   * The one shutdown path, in this order: stop taking work (events, reconcile, node queue) →
   * let installs in progress finish within `deadlineMs` (default config.shutdownTimeoutMs), then
   * abort them → final heartbeat → close the store and Redis connections we opened.
   */
  stop(deadlineMs?: number): Promise<void>;
}

export function createAgent(config: AgentConfig, deps: AgentDeps = {}): Agent {
  if (config.trustedKeys.length === 0) {
    // Secure by default, also for callers that build an AgentConfig without readAgentEnv.
    throw new Error('the agent needs at least one trusted signing key (AGENT_TRUSTED_KEYS)');
  }
  const log = (deps.log ?? silentLogger()).child({ node: config.name, arch: config.arch });
  const keys = new Keys(config.queuePrefix);
  const ownRedis = deps.redis === undefined;
  const redisConfig: RedisConfig = {
    url: config.redisUrl,
    username: config.redisUsername,
    password: config.redisPassword,
    prefix: config.queuePrefix,
  };
  const redis = deps.redis ?? createRedisConnection(redisConfig);
  const blocking = createRedisConnection(redisConfig);
  const ownStore = deps.store === undefined;
  const store =
    deps.store ??
    createArtifactStore(config.storageUrl, {
      ...(config.storageAccessKey !== undefined && { accessKey: config.storageAccessKey }),
      ...(config.storageSecretKey !== undefined && { secretKey: config.storageSecretKey }),
    });

  const childScript = findExtractChild();
  const extractor =
    deps.extractor ??
    (childScript !== undefined
      ? new ChildProcessExtractor({
          script: childScript,
          storageUrl: config.storageUrl,
          ...(config.storageAccessKey !== undefined && { accessKey: config.storageAccessKey }),
          ...(config.storageSecretKey !== undefined && { secretKey: config.storageSecretKey }),
          log,
        })
      : new InProcessExtractor(store, log));
  if (childScript === undefined && deps.extractor === undefined) {
    log.warn('extract-child.js not built: extracting in the agent process');
  }
  const sync = new RuntimeSync({
    node: config.name,
    arch: config.arch,
    runtimesDir: config.runtimesDir,
    store,
    redis,
    blocking,
    keys,
    log,
    minFreeBytes: config.minFreeBytes,
    maxArtifactBytes: config.maxArtifactBytes,
    trustedKeys: config.trustedKeys,
    installConcurrency: config.installConcurrency,
    extractor,
    reconcileIntervalMs: config.reconcileIntervalMs,
    ...(deps.timing?.leasePollMs !== undefined && { leasePollMs: deps.timing.leasePollMs }),
    ...(deps.timing?.followBlockMs !== undefined && { followBlockMs: deps.timing.followBlockMs }),
  });
  const heartbeat = new HeartbeatService({
    redis,
    keys,
    log,
    name: config.name,
    arch: config.arch,
    labels: config.labels,
    capacity: config.capacity,
    agentVersion: AGENT_VERSION,
    runtimesDir: config.runtimesDir,
    allowHostNetwork: config.allowHostNetwork ?? false,
    intervalMs: config.heartbeatIntervalMs,
    // `jobs` is built below; the heartbeat reads it only once started.
    runningJobs: () => jobs?.runningJobs() ?? [],
    // Cordoned or draining (rnx node cordon|drain): no new jobs from the arch's queue.
    onSchedule: async (schedule) => {
      const open = schedule === undefined;
      if (open === intakeOpen) return;
      intakeOpen = open;
      await setArchIntake(open);
      log.info({ schedule }, open ? 'taking jobs again' : `node ${schedule?.state}: no new jobs`);
    },
  });
  let intakeOpen = true;
  /** Cordon: pauses or resumes the arch queue's consumer (the readiness gate leaves it alone). */
  const setArchIntake = async (open: boolean) => {
    const w = jobs?.queueWorker;
    if (!w || w.closing) return;
    if (open) await w.resume();
    else await w.pause(true);
  };
  const jobs =
    (deps.jobs ?? true)
      ? new JobRunner({
          node: config.name,
          arch: config.arch,
          capacity: config.capacity,
          redis,
          prefix: config.queuePrefix,
          keys,
          workDir: config.workDir,
          volumesDir: config.volumesDir ?? `${config.workDir}-volumes`,
          runtimes: sync,
          log,
          ...(deps.jobSandbox && { sandbox: deps.jobSandbox }),
          ...(config.jobLockMs !== undefined && {
            lockDurationMs: config.jobLockMs,
            stalledIntervalMs: config.jobLockMs,
          }),
          ...(config.jobPidsMax !== undefined && { defaultPidsMax: config.jobPidsMax }),
          ...(config.resources && { resources: config.resources }),
          ...(config.workDisks && { workDisks: config.workDisks }),
          egress: {
            ...(config.egressDns && { egressDns: config.egressDns }),
            ...(config.egressAllow && { egressAllow: config.egressAllow }),
          },
          allowHostNetwork: config.allowHostNetwork ?? false,
          jobEnv: jobMirrorEnv(config.jobMirrors ?? {}),
        })
      : undefined;
  // Every kind on the node queue is the job runner's: without it there is nothing to serve.
  const nodeQueue =
    (deps.nodeQueue ?? true) && jobs
      ? new NodeQueueWorker({
          node: config.name,
          connection: createRedisConnection({ ...redisConfig, forWorker: true }),
          prefix: config.queuePrefix,
          log,
          handlers: jobs.nodeQueueHandlers(),
          // Pinned jobs run here too: room for them beside runtime tests.
          concurrency: config.capacity + 2,
        })
      : undefined;

  let stopping: Promise<void> | undefined;
  let archSupport: ArchSupport | undefined;
  let health: AgentHealth | undefined;
  return {
    config,
    keys,
    sync,
    heartbeat,
    store,
    jobs,
    async start() {
      // Wrong credentials or an ACL without the farm's keys stop the start (RedisConfigError).
      await verifyRedis(redisConfig);
      // Probes first: liveness answers through a long start-up reconcile.
      health = await startAgentHealth({
        health: config.health,
        redis,
        store,
        // While cordoned the arch queue's consumer stays paused whatever Redis does.
        workers: () => [intakeOpen ? jobs?.queueWorker : undefined, nodeQueue?.queueWorker],
        log,
      });
      await mkdir(config.workDir, { recursive: true, mode: 0o711 });
      // Before the node registers: an agent that cannot execute its arch takes no work.
      archSupport = await ensureAgentArch(config, log);
      await sync.layout.prepare(); // before the first heartbeat, which reports its disk
      // No store.ensureReady(): an agent only reads, and must not create an empty store (a
      // wrong STORAGE_URL would then look like an empty index).
      await heartbeat.start();
      await sync.start();
      // A stop during the start-up reconcile must not be followed by a queue that takes work.
      if (stopping) return;
      // Jobs before the node queue: it hands pinned jobs to the runner.
      await jobs?.start();
      // Cordoned before the job queue was there (the first heartbeat came first).
      if (!intakeOpen) await setArchIntake(false);
      await nodeQueue?.start();
      log.info(
        { runtimesDir: config.runtimesDir, store: store.url, version: AGENT_VERSION },
        'agent started',
      );
    },
    stop(deadlineMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        // 1. No new work: events, reconciles and the node queue stop; running tests drain. The
        //    readiness gate first, so that it resumes nothing now.
        health?.stopGate();
        const queueStopped = nodeQueue?.stop();
        // Jobs: no new ones; running ones get the deadline, then are stopped ("agent stopped").
        const jobsStopped = jobs?.stop(deadlineMs);
        // 2. Installs in progress finish within the deadline, else are aborted (staging removed).
        await sync.stop(deadlineMs);
        await queueStopped;
        await jobsStopped;
        // 3. The final heartbeat: the node stays listed and shows when it stopped.
        await heartbeat.stop();
        // 4. Clients last (the probes first).
        await health?.close();
        if (ownStore) await store.close().catch(() => undefined);
        blocking.disconnect();
        if (ownRedis) await redis.quit().catch(() => redis.disconnect());
        // 5. A QEMU handler this agent registered itself goes last: no job can still need it.
        await archSupport?.release();
        log.info('agent stopped');
      })();
      return stopping;
    },
  };
}
