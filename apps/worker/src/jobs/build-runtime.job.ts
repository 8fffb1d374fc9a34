/**
 * `build-runtime` (one architecture of a build flow). Light: it runs the build in a child process
 * (see child-runner.ts), relays its phases and log lines to the build's event stream and record,
 * and turns the outcome into BullMQ's terms:
 * - success → the ArtifactInfo is the job's return value (the publish parent reads it);
 * - spec/hook/missing-package errors, or the last attempt → `UnrecoverableError`, after the
 *   arch (and, unless partial results are allowed, the build) is marked failed;
 * - transient errors → a plain Error, so BullMQ retries with the job's backoff;
 * - cancel → the child is killed, the arch marked canceled, `UnrecoverableError`;
 * - worker shutdown past its deadline → the child is killed and the job moved back to wait
 *   without counting an attempt (`moveToWait` + `WaitingError`).
 */
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import {
  BUILD_RUNTIME_JOB,
  defineHandler,
  observeHistogram,
  type BuildJobData,
} from '@joblet/queue';
import { type BuildError } from '@joblet/spec';
import { removeTree } from '@joblet/artifact';
import type { Logger } from '@joblet/logging';
import type { ChildConfig, ChildMessage } from '../build/protocol.js';
import { PHASE_ORDER } from '../build/phases.js';
import { buildCgroupName } from '../build/sandbox-setup.js';
import { workDirLayout } from '../build/work-dir.js';
import type { RunningBuild, WorkerDeps } from './worker-deps.js';
import { failArch } from './build-outcome.js';
import { startBuildChild, type ChildOutcome, type ChildRun } from './child-runner.js';
import { ArchStatusWriter, EventSink } from './event-sink.js';

/** The worker stops a child this long after its own build timeout should have (s). */
const BACKSTOP_MARGIN_S = 60;
/** Longest log line kept in the event stream (characters); longer ones are cut. */
const MAX_LINE_CHARS = 4096;

export function buildRuntimeJob(deps: WorkerDeps) {
  return defineHandler(BUILD_RUNTIME_JOB, (job, data, token) =>
    new BuildRun(deps, job, data, token).run(),
  );
}

/** What a build child is told about its worker's configuration. */
export function childConfig(deps: WorkerDeps): ChildConfig {
  const c = deps.config;
  return {
    arch: c.arch,
    workerName: c.name,
    cacheDir: c.cacheDir,
    workDir: c.workDir,
    buildTimeoutS: c.buildTimeoutS,
    memoryBytes: c.buildMemoryMb * 1024 * 1024,
    cpuPercent: c.buildCpuPercent,
    pidsMax: c.buildPidsMax,
    storageUrl: c.storageUrl,
    storageAccessKey: c.storageAccessKey,
    storageSecretKey: c.storageSecretKey,
    aptMirror: c.aptMirror,
    pipIndexUrl: c.pipIndexUrl,
    npmRegistry: c.npmRegistry,
    caBundle: c.caBundle,
    buildNetwork: c.buildNetwork,
    ...(c.buildDns ? { buildDns: c.buildDns } : {}),
    buildEgressAllow: c.buildEgressAllow,
    buildSubids: c.buildSubids,
    catalog: { entries: [...deps.catalog.entries] },
    logLevel: c.logLevel,
  };
}

/** One attempt of one arch's build. */
class BuildRun {
  private readonly log: Logger;
  private readonly sink: EventSink;
  private readonly status: ArchStatusWriter;
  private child: ChildRun | undefined;
  private canceled = false;
  private handBack = false;
  /** The phase in progress, for the phase-duration histogram. */
  private phaseStarted: { n: number; at: number } | undefined;
  private abandoned = false;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly job: Job,
    private readonly data: BuildJobData,
    private readonly token: string | undefined,
  ) {
    const { buildId, arch } = data;
    this.log = deps.log.child({ buildId, arch, jobId: job.id });
    this.sink = new EventSink(deps.redis, deps.keys.buildEvents(buildId), this.log);
    this.status = new ArchStatusWriter(deps.buildStore, buildId, arch, this.log);
  }

  async run(): Promise<unknown> {
    const { deps, data } = this;
    if (data.arch !== deps.config.arch) {
      throw new UnrecoverableError(`a ${data.arch} build reached a ${deps.config.arch} worker`);
    }
    // Watch before reading the record: a cancel published in between is not missed.
    const unwatch = deps.cancels.watch(data.buildId, () => {
      this.canceled = true;
      this.child?.stop('cancel');
    });
    const running: RunningBuild = {
      buildId: data.buildId,
      arch: data.arch,
      jobId: String(this.job.id),
      handBack: () => {
        this.handBack = true;
        this.child?.stop('handback');
      },
      abandon: () => {
        this.abandoned = true;
        this.child?.stop('abandon', 5_000);
      },
    };
    deps.running.add(running);
    try {
      return await this.attempt();
    } finally {
      unwatch();
      deps.running.delete(running);
      await this.status.flush();
      await this.sink.flush();
    }
  }

  private async attempt(): Promise<unknown> {
    const { deps, job, data, sink } = this;
    const maxAttempts = Math.max(1, Math.min(job.opts.attempts ?? 1, deps.config.maxAttempts));
    const attempt = job.attemptsMade + 1;
    const meta = await deps.buildStore.getMeta(data.buildId);
    if (!meta || meta.final || this.canceled) {
      return this.cancel(meta ? `build ${meta.final ?? 'canceled'}` : 'build record gone');
    }
    if (this.handBack) return this.giveBack();
    const startedAt = new Date();
    await this.status.update({
      state: 'running',
      attempt,
      startedAt: startedAt.toISOString(),
      phase: undefined,
      error: undefined,
    });
    this.system(`attempt ${attempt}/${maxAttempts} on worker ${deps.config.name}`);
    this.log.info({ attempt }, 'build started');

    const child = startBuildChild({
      script: deps.childScript,
      start: { type: 'start', job: data, attempt, config: childConfig(deps) },
      onMessage: (m) => this.relay(m),
      log: this.log,
    });
    this.child = child;
    if (this.canceled) child.stop('cancel');
    if (this.handBack) child.stop('handback');
    if (this.abandoned) child.stop('abandon', 5_000);
    // Backstop: the child enforces WORKER_BUILD_TIMEOUT_S itself; this catches a child that hangs.
    const backstop = setTimeout(
      () => child.stop('timeout', 5_000),
      (deps.config.buildTimeoutS + BACKSTOP_MARGIN_S) * 1000,
    );
    const outcome = await child.outcome.finally(() => clearTimeout(backstop));
    this.closePhase();
    await this.sweep(child.pid);

    if (child.stopReason === 'abandon') {
      // The job belongs to whoever holds its lock now: no status, no events from us.
      this.log.warn('lock lost: build stopped, the job is left to the worker that took it over');
      throw new Error('job lock lost; build stopped on this worker');
    }
    if (child.stopReason === 'cancel' || this.canceled) return this.cancel('canceled by request');
    if (child.stopReason === 'handback') return this.giveBack();
    const ended: ChildOutcome =
      child.stopReason === 'timeout'
        ? {
            kind: 'error',
            error: {
              code: 'BUILD_TIMEOUT',
              message: `the build exceeded WORKER_BUILD_TIMEOUT_S (${deps.config.buildTimeoutS}s) and did not stop`,
            },
            retryable: false,
          }
        : outcome;
    if (ended.kind !== 'result' && stoppedFromOutside(ended) && deps.state.closing) {
      // e.g. the service manager signalled every process of the worker at once.
      return this.giveBack();
    }
    if (ended.kind === 'result') {
      const finishedAt = new Date();
      await this.status.update({
        state: 'succeeded',
        finishedAt: finishedAt.toISOString(),
        artifact: ended.artifact,
      });
      sink.push({
        type: 'arch-succeeded',
        arch: data.arch,
        artifact: ended.artifact,
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      });
      this.log.info(
        { sha256: ended.artifact.sha256, bytes: ended.artifact.size },
        'build succeeded',
      );
      return ended.artifact;
    }
    const { error, retryable } = failureOf(ended);
    if (!data.verbose && error.details) {
      for (const line of error.details.split('\n')) this.line('stderr', line);
    }
    if (!retryable || attempt >= maxAttempts) {
      this.log.info({ code: error.code, attempt }, 'build failed');
      deps.handledFailures.add(String(job.id));
      await this.status.flush();
      await failArch(deps, sink, data, error, this.log);
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    }
    this.log.warn({ code: error.code, attempt }, 'build attempt failed; will retry');
    await this.status.update({ state: 'queued', error });
    sink.push({ type: 'arch-retry', arch: data.arch, attempt, error });
    throw new Error(`${error.code}: ${error.message}`);
  }

  /** Records how long the phase in progress took (farm metric; best effort, never fails a build). */
  private closePhase(): void {
    const p = this.phaseStarted;
    this.phaseStarted = undefined;
    const id = p ? PHASE_ORDER[p.n - 1] : undefined;
    if (!p || !id) return;
    const seconds = (performance.now() - p.at) / 1000;
    void observeHistogram(
      this.deps.redis,
      this.deps.keys,
      'joblet_build_phase_duration_seconds',
      { arch: this.data.arch, phase: id },
      seconds,
    ).catch(() => undefined);
  }

  /** Progress from the child: phases always, output lines only for verbose builds. */
  private relay(m: ChildMessage): void {
    if (m.type === 'phase') {
      this.closePhase();
      this.phaseStarted = { n: m.n, at: performance.now() };
      const phase = { n: m.n, total: m.total, name: m.name };
      this.sink.push({ type: 'phase', arch: this.data.arch, ...phase });
      void this.status.update({ phase });
    } else if (m.type === 'log' && (this.data.verbose || m.stream === 'system')) {
      this.line(m.stream, m.line);
    }
  }

  private line(stream: 'stdout' | 'stderr' | 'system', line: string): void {
    const cut = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
    this.sink.push({ type: 'log', arch: this.data.arch, stream, line: cut });
  }

  private system(line: string): void {
    this.line('system', line);
  }

  /** What a child killed before it could clean up leaves: its work dir and its cgroup. */
  private async sweep(pid: number): Promise<void> {
    if (pid <= 0) return;
    const { deps, data } = this;
    try {
      await removeTree(workDirLayout(deps.config.workDir, data.buildId, data.arch, pid).path);
      await deps.cgroups.cleanupStale(buildCgroupName(data.buildId, data.arch));
    } catch (err) {
      this.log.warn({ err }, 'cannot clean up after the build child');
    }
  }

  private async cancel(why: string): Promise<never> {
    await this.status.update({ state: 'canceled', finishedAt: new Date().toISOString() });
    this.sink.push({ type: 'arch-canceled', arch: this.data.arch });
    this.deps.handledFailures.add(String(this.job.id));
    throw new UnrecoverableError(`CANCELED: ${why}`);
  }

  private async giveBack(): Promise<never> {
    this.log.info('worker shutting down: build handed back to the queue');
    await this.status.update({ state: 'queued', phase: undefined });
    this.system(
      `worker ${this.deps.config.name} is shutting down: the build goes back to the queue`,
    );
    await this.job.moveToWait(this.token);
    throw new WaitingError();
  }
}

/** A child that ended on a signal it did not get from us (e.g. SIGTERM to the whole group). */
function stoppedFromOutside(outcome: Exclude<ChildOutcome, { kind: 'result' }>): boolean {
  return outcome.kind === 'lost' || outcome.error.code === 'CANCELED';
}

function failureOf(outcome: Exclude<ChildOutcome, { kind: 'result' }>): {
  error: BuildError;
  retryable: boolean;
} {
  if (outcome.kind === 'error') {
    // CANCELED from the child without a cancel from us: stopped from outside; try again.
    if (outcome.error.code === 'CANCELED') {
      return { error: { ...outcome.error, code: 'INTERNAL' }, retryable: true };
    }
    return { error: outcome.error, retryable: outcome.retryable };
  }
  const how = outcome.signal
    ? `was killed by ${outcome.signal}`
    : `exited with code ${outcome.code}`;
  return {
    error: {
      code: 'INTERNAL',
      message: `the build process ${how} without a result`,
      ...(outcome.stderrTail ? { details: outcome.stderrTail } : {}),
    },
    retryable: true,
  };
}
