/**
 * `createWorker(config)`: a build worker for one architecture, constructed the same way by the
 * process entry (index.ts) and by tests (no signals, no process exit). It
 * 0. checks that this host executes its arch (arch-check.ts), can run builds rootless
 *    (build-userns-check.ts) and give them their network (build-network-check.ts), else refuses
 *    to start,
 * 1. loads the catalog and connects to the store and Redis,
 * 2. removes what crashed builds on this host left (work dirs of dead children, their cgroups),
 * 3. consumes `build-<arch>` (and, with `publish`, the `publish` parents) through BullMQ, with
 *    lock renewal and stalled-job recovery so a build of a killed worker is taken up again.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type Job } from 'bullmq';
import { createLogger, type Logger } from '@joblet/logging';
import {
  BUILD_QUEUE_JOBS,
  BuildJobData,
  BuildStore,
  JOB_NAMES,
  JobRegistry,
  Keys,
  PUBLISH_QUEUE,
  PUBLISH_QUEUE_JOBS,
  buildQueueName,
  createRedisConnection,
  verifyRedis,
  type RedisClient,
  type RedisConfig,
} from '@joblet/queue';
import { CgroupManager, qemuBinfmtName } from '@joblet/sandbox';
import { builtinCatalog, loadCatalogFile, mergeCatalogs, type BuildError } from '@joblet/spec';
import { createArtifactStore, withRetry } from '@joblet/storage';
import { ensureArchSupport, type ArchSupport } from './startup-checks/arch-check.js';
import { checkBuildNetwork } from './startup-checks/build-network-check.js';
import { checkBuildUserns } from './startup-checks/build-userns-check.js';
import { BUILD_CGROUP_NAMESPACE } from './build/sandbox-setup.js';
import { removeDeadWorkDirs } from './build/work-dir.js';
import { CancelListener } from './jobs/cancel-listener.js';
import type { WorkerConfig } from './env.js';
import { failArch } from './jobs/build-outcome.js';
import { buildRuntimeJob } from './jobs/build-runtime.job.js';
import { EventSink } from './jobs/event-sink.js';
import { WorkerStatusReporter } from './worker-status-reporter.js';
import { startWorkerHealth, type WorkerHealth } from './worker-health.js';
import { publishRuntimeJob } from './jobs/publish-runtime.job.js';
import type { RunningBuild, WorkerDeps } from './jobs/worker-deps.js';
import { keepPodDeletionCost } from './k8s/pod-deletion-cost.js';

export interface CreateWorkerOptions {
  log?: Logger;
  /** Path of the bundled build child; default dist/build-child.js next to this module. */
  childScript?: string;
}

export interface CloseOptions {
  /** How long running builds may take to finish before they are handed back (ms). */
  deadlineMs?: number;
}

export interface FarmWorker {
  readonly config: WorkerConfig;
  /** Builds running in this process now. */
  runningBuilds(): RunningBuild[];
  /**
   * Stops taking jobs, lets running builds finish until the deadline, hands the rest back to the
   * queue (child killed, job moved back to wait, no attempt counted), then closes every client.
   */
  close(opts?: CloseOptions): Promise<void>;
}

/** Time for handed-back builds to stop (child SIGTERM → SIGKILL after 20 s) and re-queue (ms). */
const HANDBACK_WAIT_MS = 40_000;

function defaultChildScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'build-child.js'), join(here, '../dist/build-child.js')]) {
    if (existsSync(p)) return p;
  }
  throw new Error(`build-child.js not found next to ${here} (run "npm run build" in apps/worker)`);
}

export async function createWorker(
  config: WorkerConfig,
  opts: CreateWorkerOptions = {},
): Promise<FarmWorker> {
  const log =
    opts.log ??
    createLogger({ name: 'worker', level: config.logLevel, base: { worker: config.name } });
  const childScript = opts.childScript ?? defaultChildScript();
  // Before anything else: a worker that cannot run builds rootless (/etc/subuid), execute its
  // arch, or give builds the configured network (WORKER_BUILD_NETWORK), takes no builds.
  // The package sources join the operator's egress exceptions: builds must reach their mirrors.
  await checkBuildUserns(config);
  const sourceAllows = await checkBuildNetwork(config, log);
  config = { ...config, buildEgressAllow: [...config.buildEgressAllow, ...sourceAllows] };
  const archSupport = await ensureArchSupport({
    arch: config.arch,
    registerBinfmt: config.registerBinfmt,
    probeDir: config.cacheDir,
    log,
  });
  if (!archSupport.native) {
    log.info(
      {
        arch: config.arch,
        handler: qemuBinfmtName(config.arch),
        registered: archSupport.registered,
      },
      'executing a foreign arch through QEMU binfmt_misc',
    );
  }
  try {
    return await startWorker(config, log, childScript, archSupport);
  } catch (err) {
    await archSupport.release();
    throw err;
  }
}

async function startWorker(
  config: WorkerConfig,
  log: Logger,
  childScript: string,
  archSupport: ArchSupport,
): Promise<FarmWorker> {
  const catalog = config.catalogFile
    ? mergeCatalogs(builtinCatalog, loadCatalogFile(config.catalogFile))
    : builtinCatalog;
  const redisConfig: RedisConfig = {
    url: config.redisUrl,
    username: config.redisUsername,
    password: config.redisPassword,
    prefix: config.queuePrefix,
    forWorker: true,
  };
  // Wrong credentials or an ACL without the farm's keys stop the start (RedisConfigError).
  await verifyRedis(redisConfig);
  const store = createArtifactStore(config.storageUrl, {
    accessKey: config.storageAccessKey,
    secretKey: config.storageSecretKey,
  });
  await withRetry(() => store.ensureReady(), {
    onRetry: (err) => log.warn({ err }, 'store not ready; retrying'),
  });
  const keys = new Keys(config.queuePrefix);
  const connections: RedisClient[] = [];
  const connect = () => {
    const c = createRedisConnection(redisConfig);
    // ioredis reconnects by itself; without a listener each failure is an "unhandled" print.
    c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
    connections.push(c);
    return c;
  };
  const redis = connect();
  const cancels = new CancelListener(createRedisConnection(redisConfig), keys.cancelChannel, log);
  const cgroups = await CgroupManager.detect({ namespace: BUILD_CGROUP_NAMESPACE });

  // Leftovers of builds whose process died (SIGKILL, OOM, power loss): never in use any more.
  await mkdir(config.workDir, { recursive: true, mode: 0o700 });
  await mkdir(config.cacheDir, { recursive: true });
  await removeDeadWorkDirs(config.workDir, log);
  const staleGroups = await cgroups.cleanupStale('build-');
  if (staleGroups.length > 0) log.info({ cgroups: staleGroups }, 'removed stale build cgroups');
  await cancels.start();
  const status = new WorkerStatusReporter(redis, keys, config, log);
  await status.start();
  const running = new Set<RunningBuild>();
  // On Kubernetes: a scale-in removes an idle worker first.
  const stopDeletionCost = config.pod
    ? keepPodDeletionCost({ ...config.pod, pod: config.pod.name, running: () => running.size, log })
    : () => Promise.resolve();

  const deps: WorkerDeps = {
    config,
    log,
    redis,
    keys,
    buildStore: new BuildStore(redis, keys),
    store,
    catalog,
    cancels,
    cgroups,
    childScript,
    running,
    state: { closing: false },
    handledFailures: new Set(),
  };
  // One registry per queue consumed: a job kind of it without a handler, or with two, stops the start.
  const builds = new JobRegistry(BUILD_QUEUE_JOBS, [buildRuntimeJob(deps)]);
  const publishes = config.publish
    ? new JobRegistry(PUBLISH_QUEUE_JOBS, [publishRuntimeJob(deps)])
    : undefined;

  const workerOpts = (concurrency: number) => {
    const connection = connect();
    return {
      connection,
      prefix: config.queuePrefix,
      concurrency,
      name: config.name,
      // Renewed every lockDuration/2 while the job runs; a dead worker's lock expires, and
      // the stalled checker (any worker) moves its job back to wait (twice at most).
      lockDuration: config.lockDurationS * 1000,
      stalledInterval: config.stalledIntervalS * 1000,
      maxStalledCount: 2,
    };
  };
  const workers: Worker[] = [
    new Worker(buildQueueName(config.arch), builds.processor, workerOpts(config.concurrency)),
  ];
  if (publishes) workers.push(new Worker(PUBLISH_QUEUE, publishes.processor, workerOpts(4)));
  for (const w of workers) {
    w.on('error', (err) => log.error({ err, queue: w.name }, 'queue worker error'));
  }
  workers[0]!.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const b of deps.running) {
      if (jobIds.includes(b.jobId)) {
        log.error({ buildId: b.buildId, jobId: b.jobId }, 'job lock lost; stopping its build');
        b.abandon();
      }
    }
  });
  workers[0]!.on('failed', (job, err) => {
    if (job?.name !== JOB_NAMES.build) return;
    if (deps.handledFailures.delete(String(job.id)) || !job.finishedOn) return;
    void recordUnhandledFailure(deps, job, err).catch((e: unknown) =>
      log.error({ err: e, jobId: job.id }, 'cannot record build failure'),
    );
  });
  const health: WorkerHealth = await startWorkerHealth({ config, redis, store, workers, log });
  log.info(
    {
      arch: config.arch,
      concurrency: config.concurrency,
      publish: config.publish,
      store: store.url,
    },
    'worker started',
  );

  let closing: Promise<void> | undefined;
  return {
    config,
    runningBuilds: () => [...deps.running],
    close(closeOpts: CloseOptions = {}) {
      closing ??= (async () => {
        const deadlineMs = closeOpts.deadlineMs ?? config.shutdownTimeoutS * 1000;
        deps.state.closing = true;
        health.stopGate(); // the readiness gate resumes nothing from now on
        // 1. No new jobs from now on; BullMQ waits for the active ones.
        const drained = Promise.all(workers.map((w) => w.close()));
        if (!(await settlesWithin(drained, deadlineMs))) {
          // 2. Past the deadline: running builds go back to the queue, uncounted.
          log.warn({ running: deps.running.size }, 'shutdown deadline passed; handing builds back');
          for (const b of deps.running) b.handBack();
          if (!(await settlesWithin(drained, HANDBACK_WAIT_MS))) {
            log.error('builds did not stop; closing connections under them');
          }
        }
        // 3. Clients last: the probes, the subscriber, the store, then the Redis connections.
        await stopDeletionCost();
        await health.close();
        await status.close();
        await cancels.close();
        await store.close().catch(() => undefined);
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
        // 4. The binfmt_misc handler this worker registered itself, if any.
        await archSupport.release();
        log.info('worker stopped');
      })();
      return closing;
    },
  };
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A build job that failed for good without its processor saying why (e.g. stalled too often). */
async function recordUnhandledFailure(deps: WorkerDeps, job: Job, err: Error): Promise<void> {
  const parsed = BuildJobData.safeParse(job.data);
  if (!parsed.success) return;
  const stalled = /stalled/i.test(err.message);
  const error: BuildError = stalled
    ? {
        code: 'WORKER_LOST',
        message: 'the workers running this build were lost too many times (killed or stalled)',
      }
    : { code: 'INTERNAL', message: err.message };
  const log = deps.log.child({ buildId: parsed.data.buildId, arch: parsed.data.arch });
  const sink = new EventSink(deps.redis, deps.keys.buildEvents(parsed.data.buildId), log);
  await failArch(deps, sink, parsed.data, error, log);
}
