// How a job that ran ended, and its end recorded: the exit classified (exit-status.ts) with the
// words a person needs (the memory limit hit, /work full), then the final state with its usage
// and output figures.
import type { Logger } from '@joblet/logging';
import type { CgroupStats } from '@joblet/sandbox';
import type { JobRecord } from '@joblet/spec';
import { classifyExit, usageOf, type JobOutcome } from './exit-status.js';
import type { JobDir } from './job-dirs.js';
import type { OutputSummary } from './job-output.js';
import type { JobRecorder } from './job-recorder.js';
import type { JobExit } from './job-sandbox.js';
import { describeDisk, describeMemory, workDiskFull } from './limits.js';

/** What the execution knows of why the job ended. */
export interface EndFlags {
  stopped: boolean;
  shutdown: boolean;
  timedOut: boolean;
  /** Its first stderr lines (the shell's "command not found"). */
  stderrHead: string[];
  dir?: JobDir;
}

/** The job's final state, reason and message. */
export async function jobOutcome(
  record: JobRecord,
  exit: JobExit,
  stats: CgroupStats | undefined,
  f: EndFlags,
): Promise<JobOutcome> {
  const outcome = classifyExit({
    code: exit.code,
    signal: exit.signal,
    stopped: f.stopped,
    shutdown: f.shutdown,
    timedOut: f.timedOut,
    ...(record.limits.timeoutS !== undefined && { timeoutS: record.limits.timeoutS }),
    oomKills: stats?.oomKills ?? 0,
    ...(record.limits.maxMemoryMB !== undefined && { memoryMB: record.limits.maxMemoryMB }),
    stderrHead: f.stderrHead,
    runtime: `${record.runtime.name}@${record.runtime.version}`,
  });
  if (outcome.reason === 'out-of-memory') {
    outcome.message = `out of memory (limit ${describeMemory(record.limits)})`;
  }
  if (outcome.state === 'FAILED' && f.dir && (await workDiskFull(f.dir))) {
    // What the job's "No space left on device" was about, in the record.
    outcome.message = `${outcome.message ?? 'failed'}; /work is full (${describeDisk(f.dir)})`;
  }
  return outcome;
}

/** Records the end; `from`: the record as the execution last wrote it. */
export async function recordEnd(
  recorder: JobRecorder,
  log: Logger,
  from: JobRecord | undefined,
  outcome: JobOutcome,
  output: OutputSummary,
  stats: CgroupStats | undefined,
): Promise<JobRecord | undefined> {
  const usage = stats && usageOf(stats);
  const done = await recorder.settle(
    outcome.state,
    {
      ...outcome,
      finishedAt: new Date().toISOString(),
      output: { lines: output.lines, truncated: output.truncated },
      ...(usage && { usage }),
    },
    from,
  );
  log.info(
    {
      state: outcome.state,
      reason: outcome.reason,
      exitCode: outcome.exitCode,
      lines: output.lines,
      cpuUsec: stats?.cpuUsageUsec,
    },
    'job ended',
  );
  return done ?? recorder.get();
}
