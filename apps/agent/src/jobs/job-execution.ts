// One job on this node, from the queue's `{ jobId }` to its final state: load the record and its
// uploads → INITIALIZING → its network allowed here → runtime installed (installed now when
// missing) and leased → /work with the uploads → volumes → its bridge network's address → cgroup with the limits → the sandbox →
// RUNNING → output streamed → exit classified (COMPLETED, FAILED with the reason, STOPPED) with
// usage and output figures. Whatever happens, the cgroup is destroyed, the network address and
// lease released, the job directory and the uploads key removed.
import type { Logger } from '@joblet/logging';
import { NOBODY, type Cgroup } from '@joblet/sandbox';
import { FINAL_JOB_STATES, isSystemRoot, type JobRecord } from '@joblet/spec';
import type { JobContext } from './job-context.js';
import { cleanupJob } from './job-cleanup.js';
import { createRootLayers, type JobDir } from './job-dirs.js';
import { JobFailure } from './job-errors.js';
import { jobOutcome, recordEnd } from './job-end.js';
import { JobOutput } from './job-output.js';
import { JobRecorder } from './job-recorder.js';
import { createJobCgroup, leaseRuntime } from './job-prepare.js';
import type { JobNetworkLease } from './job-networks.js';
import type { JobProcess, JobSandbox } from './job-sandbox.js';
import { describeDisk } from './limits.js';
import { watchJob } from './job-watch.js';
import { watchRecord } from './record-watch.js';
import { loadJobSecrets, writeUploads } from './uploads.js';

const MiB = 1024 * 1024;

export class JobExecution {
  private stopRequested = false;
  private shutdown = false;
  private timedOut = false;
  private proc: JobProcess | undefined;
  /** The sandbox's process has exited: its process group id may be reused, never signal it. */
  private exited = false;
  private cgroup: Cgroup | undefined;
  /** Its cgroup was destroyed: every process of the job is gone. */
  private cgroupGone = false;
  /** The job's directory, once made. */
  private dir: JobDir | undefined;
  private killing: Promise<void> | undefined;
  /** Milliseconds spent in each step, for the log line at the end (where start-up time goes). */
  private readonly phases: Record<string, number> = {};
  private lastMark = performance.now();
  /** The agent's last shutdown deadline passed: stop waiting for Redis to record anything. */
  private abandoned = false;
  /** The record's writes that must land (retried while Redis is away). */
  private readonly recorder: JobRecorder;
  /** The record as this execution last wrote it (a transition's compare-and-set needs no read). */
  private record: JobRecord | undefined;
  /**
   * Settles once what the job held is given back (job directory, network address, runtime lease,
   * uploads key): after its final state is recorded, off the path of the jobs that follow.
   */
  cleanedUp: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: JobContext,
    readonly jobId: string,
    private readonly log: Logger,
  ) {
    this.recorder = new JobRecorder({
      store: ctx.store,
      jobId,
      node: ctx.node,
      log,
      giveUp: () => this.abandoned,
    });
  }

  /**
   * The agent stops and Redis is still away after the drain deadline: give up recording (the
   * record stays RUNNING; the next start of this agent records it lost).
   */
  abandon(): void {
    this.abandoned = true;
  }

  private mark(phase: string): void {
    const now = performance.now();
    this.phases[phase] = Math.round((now - this.lastMark) * 10) / 10;
    this.lastMark = now;
  }

  /** `rnx job stop`: kill the whole tree; the job ends STOPPED. */
  requestStop(): void {
    this.stopRequested = true;
    void this.kill();
  }

  /** The agent's drain deadline passed: kill; the job ends STOPPED ("agent stopped"). */
  requestShutdown(): void {
    this.shutdown = true;
    void this.kill();
  }

  private kill(): Promise<void> {
    if (!this.proc || this.exited) return Promise.resolve(); // not running: the flags tell
    this.killing ??= (async () => {
      if (this.cgroup) {
        await this.cgroup.kill().catch((err: unknown) => {
          this.log.error({ err }, 'killing the job cgroup failed; killing the sandbox');
          this.proc?.kill();
        });
      } else this.proc?.kill();
    })().finally(() => (this.killing = undefined));
    return this.killing;
  }

  private checkStop(): void {
    if (this.stopRequested) throw new JobFailure('stopped before it started', 'stopped', 'STOPPED');
    if (this.shutdown) {
      throw new JobFailure('agent stopped before the job started', 'stopped', 'STOPPED');
    }
  }

  /**
   * Runs the job to its end; returns the final record (undefined when it was not ours to run).
   * `loaded`: its record as the runner just read it (saves reading it again).
   */
  async run(loaded?: JobRecord): Promise<JobRecord | undefined> {
    const { store, node } = this.ctx;
    const record = loaded ?? (await store.get(this.jobId));
    if (!record) {
      this.log.warn('job record not found; nothing to run');
      return undefined;
    }
    if (FINAL_JOB_STATES.includes(record.state)) {
      this.log.info({ state: record.state }, 'job already ended; not running it');
      return record;
    }
    if (record.state === 'INITIALIZING' || record.state === 'RUNNING') {
      // It started once already, on a node that died: never run a job twice.
      return this.markLost(record);
    }
    const started = await store.transition(this.jobId, 'INITIALIZING', { node });
    if (!started) return store.get(this.jobId);
    this.record = started;
    this.mark('initializing');
    let lease: (() => Promise<void>) | undefined;
    let dir: JobDir | undefined;
    let net: JobNetworkLease | undefined;
    try {
      // The node's own check: whatever the API decided, host networking runs only where the
      // operator allowed it (the job would reach Redis and the API on this node's loopback).
      if (record.network === 'host' && !this.ctx.allowHostNetwork) {
        throw new JobFailure(
          `network host is not allowed on node ${node}: its agent runs without AGENT_ALLOW_HOST_NETWORK=true`,
          'start-failed',
        );
      }
      const secrets = await loadJobSecrets(this.ctx.redis, this.ctx.keys, record);
      this.checkStop();
      this.mark('secrets');
      lease = await leaseRuntime(this.ctx, record, this.log);
      this.mark('lease');
      const runtimeDir = this.ctx.runtimes.layout.versionDir(
        record.runtime.name,
        record.runtime.version,
      );
      const { yml } = await this.ctx.mounts.get(runtimeDir).catch((err: unknown) => {
        throw new JobFailure(
          `runtime ${record.runtime.name}@${record.runtime.version} is unusable: ${(err as Error).message}`,
          'start-failed',
        );
      });
      this.mark('mounts');
      const jobDir = await this.ctx.workDisks.jobDir(this.jobId, record.limits);
      dir = this.dir = jobDir;
      await writeUploads(jobDir.work, secrets.uploads, { uid: NOBODY, gid: NOBODY }).catch(
        (err: unknown) => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          throw new JobFailure(
            `the uploads do not fit in /work (${describeDisk(jobDir)})`,
            'start-failed',
          );
        },
      );
      const rootOverlay = isSystemRoot(yml.language)
        ? {
            lower: await this.ctx.systemRoots.lower(runtimeDir).catch((err: unknown) => {
              throw new JobFailure(
                `the writable root of ${record.runtime.name}@${record.runtime.version} could not be prepared: ${(err as Error).message}`,
                'start-failed',
              );
            }),
            ...(await createRootLayers(jobDir, { uid: NOBODY, gid: NOBODY })),
          }
        : undefined;
      const binds = await this.ctx.volumes.acquire(this.jobId, record.volumes);
      this.mark('workdir');
      net = await this.ctx.networks.acquire(record.network, this.jobId);
      this.mark('network');
      this.cgroup = await createJobCgroup(this.ctx, record, this.jobId, dir.work);
      this.mark('cgroup');
      this.checkStop();
      return await this.execute(record, {
        runtimeDir,
        runtimeYml: yml,
        workDir: dir.work,
        command: record.command,
        args: record.args,
        env: { ...this.ctx.jobEnv, ...secrets.env },
        network: record.network,
        ...(net && { bridge: net.attachment, hostsFile: net.hostsFile }),
        hostname: `job-${this.jobId.slice(0, 8)}`,
        binds,
        ...(record.limits.maxMemoryMB !== undefined && {
          tmpBytes: record.limits.maxMemoryMB * MiB,
        }),
        ...(this.cgroup && { cgroup: this.cgroup }),
        ...(rootOverlay && { rootOverlay }),
      });
    } catch (err) {
      return await this.fail(err);
    } finally {
      // The job's processes are gone (its cgroup destroyed) and its volumes given back before its
      // end is recorded; the rest is given back after, while the next job starts.
      this.cleanedUp = cleanupJob(this.log, {
        steps: [
          ['destroy cgroup', () => this.releaseCgroup()],
          ['kill sandbox', () => Promise.resolve(this.exited ? undefined : this.proc?.kill())],
          ['release network', async () => net?.release()],
          ['release lease', async () => lease?.()],
          [
            'release job dir',
            async () =>
              dir &&
              this.ctx.workDisks.release(dir, {
                processesGone: this.proc === undefined || this.cgroupGone,
              }),
          ],
          ['delete uploads', () => this.ctx.redis.del(this.ctx.keys.jobUploads(this.jobId))],
        ],
        phases: this.phases,
        mark: (p) => this.mark(p),
        ...(this.ctx.beforeCleanup && { before: () => this.ctx.beforeCleanup!(this.jobId) }),
      });
    }
  }

  private async execute(
    record: JobRecord,
    req: Parameters<JobSandbox['start']>[0],
  ): Promise<JobRecord | undefined> {
    const { store, keys, redis } = this.ctx;
    const output = new JobOutput({
      redis,
      key: keys.jobEvents(this.jobId),
      log: this.log,
      giveUp: () => this.abandoned,
      ...this.ctx.output,
    });
    const stderrHead: string[] = [];
    const proc = await this.ctx.sandbox.start(req);
    this.proc = proc;
    this.mark('spawn');
    output.attach(proc.stdout, 'stdout');
    output.attach(proc.stderr, 'stderr', (line) => {
      if (stderrHead.length < 5) stderrHead.push(line);
    });
    const startedAt = new Date();
    // A stop that came while the sandbox was being started.
    if (this.stopRequested || this.shutdown) void this.kill();
    const timers = watchJob(record, {
      cgroup: this.cgroup,
      oomGroup: this.ctx.cgroups?.supports().oomGroup ?? false,
      oomPollMs: this.ctx.oomPollMs,
      onTimeout: () => {
        this.timedOut = true;
        void this.kill();
      },
      onOom: () => void this.kill(),
    });
    const since = Date.parse(record.scheduledFor ?? record.createdAt);
    // Output does not wait for the RUNNING record: it is appended as soon as the swap is on the
    // connection (JobStore.transition's onSent), which Redis runs first.
    let recorded = (): void => undefined;
    const ordered = new Promise<void>((r) => (recorded = r));
    const recording = this.recorder.transition(
      'RUNNING',
      {
        ...(req.bridge && { ip: req.bridge.address }),
        startedAt: startedAt.toISOString(),
        startLatencyMs: Math.max(0, startedAt.getTime() - since),
      },
      { ...(this.record && { from: this.record }), onSent: () => output.open(ordered) },
    );
    const running = await recording.finally(recorded);
    this.mark('running');
    if (running) this.record = running;
    else {
      // Ended elsewhere meanwhile (stopped before it started, declared lost): it must not run.
      this.log.warn('job ended elsewhere while starting; killing it');
      this.stopRequested = true;
      void this.kill();
    }
    output.open();
    const unwatch = watchRecord({
      recorder: this.recorder,
      read: () => store.get(this.jobId),
      node: this.ctx.node,
      everyMs: this.ctx.recordCheckMs,
      log: this.log,
      stop: () => this.requestStop(),
    });
    const exit = await proc.exited;
    unwatch();
    this.exited = true;
    this.mark('exit');
    for (const t of timers) clearTimeout(t);
    await this.killing;
    const summary = await output.finish();
    const stats = await this.cgroup?.stats().catch(() => undefined);
    this.mark('output');
    if (exit.error) {
      throw new JobFailure(
        `the sandbox could not be started: ${exit.error.message}`,
        'start-failed',
      );
    }
    const outcome = await jobOutcome(record, exit, stats, {
      stopped: this.stopRequested,
      shutdown: this.shutdown,
      timedOut: this.timedOut,
      stderrHead,
      ...(this.dir && { dir: this.dir }),
    });
    await this.releaseCgroup();
    // No process is left: a job seen ended holds its volumes no more (a removal may follow).
    this.ctx.volumes.release(this.jobId, record.volumes);
    return recordEnd(this.recorder, this.log, this.record, outcome, summary, stats);
  }

  /**
   * Destroys the cgroup (killing anything left) before the final state is written: a job seen
   * ended has no process left. Idempotent; the cleanup tries again if this fails.
   */
  private async releaseCgroup(): Promise<void> {
    await this.cgroup?.destroy().then(
      () => (this.cgroupGone = true),
      (err: unknown) => this.log.error({ err }, 'destroying the job cgroup failed'),
    );
  }

  /** The job ends with `err` before it ran (also when the runner refused it: admission). */
  async fail(err: unknown): Promise<JobRecord | undefined> {
    let failure: JobFailure;
    if (err instanceof JobFailure) failure = err;
    else {
      this.log.error({ err }, 'job could not be run');
      failure = new JobFailure(
        `the agent could not run the job: ${(err as Error).message}`,
        'start-failed',
      );
    }
    await this.releaseCgroup();
    if (this.proc && !this.exited) this.proc.kill(); // started without a cgroup
    // A job seen ended holds its volumes no more (release is idempotent, and a no-op for
    // volumes it never acquired).
    if (this.record) this.ctx.volumes.release(this.jobId, this.record.volumes);
    const done = await this.recorder.transition(
      failure.state,
      { reason: failure.reason, message: failure.message, finishedAt: new Date().toISOString() },
      this.record && { from: this.record },
    );
    if (failure.reason !== 'stopped') {
      this.log.warn({ reason: failure.reason, message: failure.message }, 'job failed to start');
    }
    return done ?? this.recorder.get();
  }

  /** A job that started on a node that died before it ended: FAILED, node lost. */
  private async markLost(record: JobRecord): Promise<JobRecord | undefined> {
    this.log.warn({ state: record.state, node: record.node }, 'job was started before; node lost');
    const done = await this.recorder.transition('FAILED', {
      reason: 'node-lost',
      message: `node ${record.node ?? '?'} stopped while the job ran; it is not run again`,
      finishedAt: new Date().toISOString(),
    });
    return done ?? this.recorder.get();
  }
}
