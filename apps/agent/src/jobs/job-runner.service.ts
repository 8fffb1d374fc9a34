/**
 * JobRunner: takes `run-job` work from `jobs-<arch>` (any node of the architecture) and from the
 * node's own queue (pinned jobs, handed over by the node-queue worker), runs each job in its
 * sandbox (job-execution.ts), stops jobs on request (`keys.jobStopChannel`), and manages volumes.
 *
 * A job is never run twice: the job queues have `maxStalledCount: 0`, so a job whose node died
 * (its lock expired) is failed by BullMQ rather than handed to another node, and this runner
 * records it FAILED (node lost). A job found INITIALIZING/RUNNING when taken, or recorded as
 * running on this node by a previous incarnation of this agent, is FAILED (node lost) too.
 */
import { availableParallelism, freemem } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker } from 'bullmq';
import type { RunJobData } from '@joblet/queue';
import {
  JOB_QUEUE_JOBS,
  JobRegistry,
  JobStore,
  NetworkRegistry,
  RUN_JOB,
  RUNTIME_TEST_JOB,
  VOLUME_CREATE_JOB,
  VOLUME_REMOVE_JOB,
  defineHandler,
  duplicateRedis,
  jobQueueName,
  type JobHandler,
  type RedisClient,
} from '@joblet/queue';
import { NOBODY } from '@joblet/sandbox';
import { Admission, type Release } from './admission.js';
import { Cleanups } from './job-cleanup.js';
import { cleanupJobDirs } from './job-dirs.js';
import { isJobId, JobFailure } from './job-errors.js';
import type { JobContext } from './job-context.js';
import type { JobRunnerOptions } from './job-runner.options.js';
import { JobExecution } from './job-execution.js';
import { JobNetworks } from './job-networks.js';
import { detectJobCgroups } from './node-cgroups.js';
import { BwrapJobSandbox, RuntimeMounts, type JobSandbox } from './job-sandbox.js';
import { DEFAULT_JOB_CPU_PERCENT, DEFAULT_JOB_MEMORY_MB, DEFAULT_JOB_PIDS_MAX } from './limits.js';
import type { JobRecord } from '@joblet/spec';
import { markStalledJob, recoverOrphanJobs, type LostJobDeps } from './lost-jobs.js';
import { SharedRuntimeLeases } from './runtime-leases.js';
import { subscribeStops } from './stop-channel.js';
import { SystemRoots } from './system-roots.js';
import { runtimeTestAsJob } from './runtime-test-job.js';
import { VolumeManager, volumeQueueOp } from './volumes.js';
import { DEFAULT_WORK_DISKS, WorkDisks, type WorkDiskStats } from './work-disks.js';

/** BullMQ's reason for a job whose worker stopped renewing its lock (maxStalledCount exceeded). */
const STALLED_REASON = 'job stalled more than allowable limit';

const MiB = 1024 * 1024;

export type { JobRunnerOptions } from './job-runner.options.js';

/** What a `run-job` BullMQ job returns. */
export interface RunJobResult {
  jobId: string;
  state?: string;
  reason?: string;
  exitCode?: number;
}

export class JobRunner {
  readonly volumes: VolumeManager;
  readonly store: JobStore;
  private readonly running = new Map<string, JobExecution>();
  /** Jobs waiting for room (admission.ts): a stop request ends the wait. */
  private readonly waits = new Map<string, AbortController>();
  /** What jobs reserve of the node's CPU and memory while they run. */
  readonly admission: Admission;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Clean-ups of ended jobs still running (job-cleanup.ts). */
  private readonly cleanups: Cleanups;
  private readonly sandbox: JobSandbox;
  private readonly mounts: RuntimeMounts;
  private readonly networks: JobNetworks;
  private readonly leases: SharedRuntimeLeases;
  private readonly systemRoots: SystemRoots;
  private ctx: JobContext | undefined;
  private workDisks: WorkDisks | undefined;
  private worker: Worker | undefined;
  private workerConnection: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  private stopping: Promise<void> | undefined;
  /** The consumer of `jobs-<arch>`: built with the runner, so a missing handler stops the start. */
  private readonly archQueueJobs = new JobRegistry(JOB_QUEUE_JOBS, [this.runJobHandler()]);

  constructor(private readonly o: JobRunnerOptions) {
    this.store = new JobStore(o.redis, o.keys);
    this.cleanups = new Cleanups(o.capacity, this.inflight);
    this.volumes = new VolumeManager({
      root: o.volumesDir,
      node: o.node,
      redis: o.redis,
      keys: o.keys,
    });
    this.networks = new JobNetworks({
      node: o.node,
      registry: new NetworkRegistry(o.redis, o.keys),
      dir: join(o.workDir, '.networks'),
      log: o.log,
    });
    this.mounts = new RuntimeMounts();
    this.leases = new SharedRuntimeLeases({
      layout: o.runtimes.layout,
      ...(o.leaseLingerMs !== undefined && { lingerMs: o.leaseLingerMs }),
    });
    this.sandbox = o.sandbox ?? new BwrapJobSandbox({ mounts: this.mounts, ...o.egress });
    const r = o.resources ?? {};
    this.admission = new Admission({
      node: o.node,
      cpuPercent: r.cpuPercent ?? availableParallelism() * 100,
      memoryBytes: r.memoryBytes ?? freemem(),
      defaultCpuPercent: r.defaultCpuPercent ?? DEFAULT_JOB_CPU_PERCENT,
      defaultMemoryBytes: r.defaultMemoryBytes ?? DEFAULT_JOB_MEMORY_MB * MiB,
    });
    this.systemRoots = new SystemRoots({
      dir: join(o.workDir, '.system-roots'),
      uid: NOBODY,
      gid: NOBODY,
    });
  }

  /** The consumer of `jobs-<arch>` once started (the readiness gate pauses it). */
  get queueWorker(): Worker | undefined {
    return this.worker;
  }

  get queueName(): string {
    return jobQueueName(this.o.arch);
  }

  /** What the /work disk pool did (made, reused, ready). */
  workDiskStats(): WorkDiskStats {
    return this.workDisks?.stats() ?? { ready: 0, made: 0, reused: 0 };
  }

  /** Ids of the jobs running here now. */
  runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Cleans what a crashed predecessor left (job cgroups, job directories, network addresses and
   * bridges, records of jobs it was running), subscribes to stop requests, then takes jobs.
   */
  async start(): Promise<void> {
    const { log } = this.o;
    await this.volumes.prepare();
    const { cgroups, missing } = await detectJobCgroups(
      this.o.cgroups,
      this.o.cgroupNamespace ?? 'joblet-jobs',
    );
    if (cgroups) {
      const stale = await cgroups.cleanupStale('job-');
      if (stale.length > 0) log.info({ cgroups: stale }, 'removed job cgroups of a previous run');
    } else log.warn({ reason: missing }, 'no cgroups: jobs asking for limits will be refused');
    await this.networks.cleanup();
    const dirs = await cleanupJobDirs(this.o.workDir);
    if (dirs.length > 0) log.info({ jobs: dirs }, 'removed job directories of a previous run');
    this.workDisks = WorkDisks.startOnNode({
      root: this.o.workDir,
      node: this.o.node,
      settings: this.o.workDisks ?? DEFAULT_WORK_DISKS,
      log,
    });
    const roots = await this.systemRoots.prune((n, v) => this.o.runtimes.layout.versionDir(n, v));
    if (roots.length > 0) log.info({ roots }, 'removed system roots of runtimes no longer here');
    this.ctx = {
      node: this.o.node,
      store: this.store,
      redis: this.o.redis,
      keys: this.o.keys,
      runtimes: this.o.runtimes,
      leases: this.leases,
      sandbox: this.sandbox,
      mounts: this.mounts,
      cgroups,
      ...(missing !== undefined && { cgroupsMissing: missing }),
      volumes: this.volumes,
      networks: this.networks,
      systemRoots: this.systemRoots,
      workRoot: this.o.workDir,
      workDisks: this.workDisks,
      defaultPidsMax: this.o.defaultPidsMax ?? DEFAULT_JOB_PIDS_MAX,
      output: this.o.output ?? {},
      oomPollMs: this.o.oomPollMs ?? 250,
      recordCheckMs: this.o.recordCheckMs ?? 5000,
      ...(this.o.beforeCleanup && { beforeCleanup: this.o.beforeCleanup }),
      allowHostNetwork: this.o.allowHostNetwork ?? false,
      jobEnv: this.o.jobEnv ?? {},
      log,
    };
    await recoverOrphanJobs(this.lostJobDeps());
    this.subscriber = await subscribeStops(
      this.o.redis,
      this.o.keys.jobStopChannel,
      this.o.log,
      (jobId) => this.stopRequested(jobId),
    );
    if (this.o.archQueue ?? true) await this.startWorker();
    log.info(
      { queue: this.queueName, capacity: this.o.capacity, resources: this.o.resources },
      'job runner started',
    );
  }

  private async startWorker(): Promise<void> {
    const connection = duplicateRedis(this.o.redis, { forWorker: true });
    this.workerConnection = connection;
    const w = new Worker(this.queueName, this.archQueueJobs.processor, {
      connection,
      prefix: this.o.prefix,
      concurrency: this.o.capacity,
      name: this.o.node,
      // Never re-run a job whose node died: BullMQ fails it, we record it lost.
      maxStalledCount: 0,
      lockDuration: this.o.lockDurationMs ?? 30_000,
      stalledInterval: this.o.stalledIntervalMs ?? 30_000,
    });
    w.on('error', (err) => this.o.log.error({ err, queue: this.queueName }, 'job queue error'));
    w.on('failed', (job, err) => {
      if (job && (err.message === STALLED_REASON || job.failedReason === STALLED_REASON)) {
        void markStalledJob(this.lostJobDeps(), job);
      }
    });
    this.worker = w;
    await w.waitUntilReady();
  }

  /** Handler of `run-job`, on `jobs-<arch>` and (through the node queue) `node-<name>`. */
  private runJobHandler(): JobHandler<typeof RunJobData> {
    return defineHandler(RUN_JOB, (_job, { jobId }) => {
      // The id names the job's directory: the payload schema only says it is a string.
      if (!isJobId(jobId)) {
        return Promise.reject(new UnrecoverableError(`invalid run-job payload: jobId ${jobId}`));
      }
      const p = this.runJob(jobId);
      this.inflight.add(p);
      return p.finally(() => this.inflight.delete(p));
    });
  }

  /** Runs one job by id (what the queue handlers do). */
  async runJob(jobId: string): Promise<RunJobResult> {
    if (!this.ctx) throw new Error('job runner not started');
    if (this.running.has(jobId)) throw new UnrecoverableError(`job ${jobId} is running already`);
    const log = this.o.log.child({ jobId });
    const exec = new JobExecution(this.ctx, jobId, log);
    this.running.set(jobId, exec);
    let release: Release | undefined;
    try {
      await this.cleanups.room();
      const loaded = await this.store.get(jobId);
      let rec: JobRecord | undefined;
      try {
        release = loaded && (await this.admit(loaded));
        rec = await exec.run(loaded);
      } catch (err) {
        if (!(err instanceof JobFailure)) throw err;
        rec = await exec.fail(err);
      }
      return {
        jobId,
        ...(rec && { state: rec.state }),
        ...(rec?.reason && { reason: rec.reason }),
        ...(rec?.exitCode !== undefined && { exitCode: rec.exitCode }),
      };
    } finally {
      // Its processes are gone (the cgroup is destroyed before the end is recorded): its CPU and
      // memory are free. What else it held is given back in the background (job-cleanup.ts).
      release?.();
      this.running.delete(jobId);
      this.cleanups.track(exec.cleanedUp);
    }
  }

  /**
   * Waits until the job fits beside those running (admission.ts); undefined for a job that will
   * not run (ended, or started before: the execution records why). A stop request ends the wait:
   * the execution then records the job STOPPED before it starts.
   */
  private async admit(rec: JobRecord): Promise<Release | undefined> {
    if (rec.state !== 'QUEUED' && rec.state !== 'SCHEDULED') return undefined;
    const wait = new AbortController();
    this.waits.set(rec.id, wait);
    try {
      return await this.admission.admit(this.admission.needOf(rec.limits), wait.signal);
    } catch (err) {
      if (wait.signal.aborted) return undefined;
      throw err;
    } finally {
      this.waits.delete(rec.id);
    }
  }

  /**
   * Handlers of every job kind of the node queue (the node-queue worker registers them): pinned
   * jobs, volumes, and runtime tests (run as jobs: see runtime-test-job.ts).
   */
  nodeQueueHandlers(): JobHandler[] {
    return [
      this.runJobHandler(),
      defineHandler(RUNTIME_TEST_JOB, (_job, d) => this.processRuntimeTest(d.name, d.version)),
      defineHandler(VOLUME_CREATE_JOB, (job, d) =>
        volumeQueueOp(this.o.log, job.name, d.name, () => this.volumes.create(d.name, d.sizeBytes)),
      ),
      defineHandler(VOLUME_REMOVE_JOB, (job, d) =>
        volumeQueueOp(this.o.log, job.name, d.name, () => this.volumes.remove(d.name)),
      ),
    ];
  }

  private processRuntimeTest(name: string, version: string): Promise<unknown> {
    const p = runtimeTestAsJob(
      {
        node: this.o.node,
        arch: this.o.arch,
        store: this.store,
        redis: this.o.redis,
        keys: this.o.keys,
        layout: this.o.runtimes.layout,
        runJob: (id) => this.runJob(id),
      },
      name,
      version,
    );
    this.inflight.add(p);
    return p.finally(() => this.inflight.delete(p));
  }

  private stopRequested(jobId: string): void {
    const exec = this.running.get(jobId);
    if (!exec) return;
    this.o.log.info({ jobId }, 'stop requested');
    exec.requestStop();
    this.waits.get(jobId)?.abort();
  }

  private lostJobDeps(): LostJobDeps {
    const { redis, keys, node, log } = this.o;
    return { store: this.store, redis, keys, node, log, running: (id) => this.running.has(id) };
  }

  /**
   * Stops taking jobs; running jobs get until `deadlineMs` to finish, then are killed (STOPPED,
   * "agent stopped"); then the connections of our own are closed.
   */
  stop(deadlineMs = 30_000): Promise<void> {
    this.stopping ??= (async () => {
      const w = this.worker;
      this.worker = undefined;
      // 1. No new jobs. close() resolves once the jobs in progress are done.
      const closing = w?.close().catch((err: unknown) => this.o.log.warn({ err }, 'close failed'));
      // 2. Jobs in progress finish within the deadline, else are killed.
      if (!(await this.drained(deadlineMs))) {
        this.o.log.warn({ jobs: this.runningJobs() }, 'killing jobs at shutdown');
        for (const exec of this.running.values()) exec.requestShutdown();
        if (!(await this.drained(15_000))) {
          // Redis is away and their ends cannot be recorded: the next start records them lost.
          this.o.log.warn({ jobs: this.runningJobs() }, 'leaving jobs whose end waits for Redis');
          for (const exec of this.running.values()) exec.abandon();
          await this.drained(2_000);
        }
      }
      await Promise.race([closing, new Promise((r) => setTimeout(r, 5_000).unref())]);
      await this.leases.releaseAll();
      await this.workDisks?.stop();
      // 3. Our own connections last.
      if (this.subscriber) {
        this.subscriber.disconnect();
        this.subscriber = undefined;
      }
      if (this.workerConnection) {
        await this.workerConnection.quit().catch(() => this.workerConnection?.disconnect());
        this.workerConnection = undefined;
      }
    })();
    return this.stopping;
  }

  /** True once no job runs here, false when `ms` passed first. */
  private async drained(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.inflight.size > 0 || this.running.size > 0) {
      if (Date.now() >= deadline) return false;
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((r) => setTimeout(r, Math.min(200, Math.max(1, deadline - Date.now())))),
      ]);
    }
    return true;
  }
}
