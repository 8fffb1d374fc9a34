// How a job ended, from what the runner saw: the final state, the reason, the exit code and the
// message `rnx job status` shows. Pure, so every combination is unit-tested.
import { constants } from 'node:os';
import type { CgroupStats } from '@joblet/sandbox';
import type { JobEndReason, JobState } from '@joblet/spec';

/** What the runner observed when the sandbox's process was gone. */
export interface ExitObservation {
  /** Exit code of bwrap (it passes the command's on; 128+N when the command died of signal N). */
  code: number | null;
  /** Signal that killed bwrap itself (the whole group was killed). */
  signal: NodeJS.Signals | null;
  /** A stop request came (`rnx job stop`). */
  stopped: boolean;
  /** The agent is shutting down and killed the job after its drain deadline. */
  shutdown: boolean;
  /** The job ran past limits.timeoutS and was killed. */
  timedOut: boolean;
  timeoutS?: number;
  /** Processes the kernel's OOM killer killed in the job's cgroup. */
  oomKills: number;
  /** The memory limit in MB, for the message. */
  memoryMB?: number;
  /** The first lines the sandbox wrote to stderr (bwrap's own errors start with `bwrap: `). */
  stderrHead: string[];
  /** `name@version` of the job's runtime, for the "command not found" message. */
  runtime?: string;
}

export interface JobOutcome {
  state: Extract<JobState, 'COMPLETED' | 'FAILED' | 'STOPPED'>;
  reason?: JobEndReason;
  exitCode?: number;
  signal?: string;
  message?: string;
}

/** Exit code of the cgroup join wrapper when the process could not be moved into its cgroup. */
const CGROUP_JOIN_FAILED = 125;

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);

/** `SIGKILL` for 9. */
export function signalName(n: number): string | undefined {
  return SIGNAL_NAMES.get(n);
}

/** Exit code of a command that is not there, as shells report it. */
export const COMMAND_NOT_FOUND = 127;

/** What bwrap says when the command is nowhere on the runtime's PATH (or not at that path). */
const EXECVP_ENOENT = /^bwrap: execvp (.+): No such file or directory$/;

/** The command bwrap could not find, when that is why the sandbox ended. */
export function missingCommand(
  o: Pick<ExitObservation, 'code' | 'stderrHead'>,
): string | undefined {
  if (o.code !== 1) return undefined;
  return EXECVP_ENOENT.exec(o.stderrHead[0] ?? '')?.[1];
}

/** True when the sandbox never got to run the command (a mount, a namespace, the cgroup). */
export function setupFailed(o: Pick<ExitObservation, 'code' | 'stderrHead'>): boolean {
  if (o.code === CGROUP_JOIN_FAILED && o.stderrHead.some((l) => l.startsWith('cgroup-join:')))
    return true;
  return o.code === 1 && o.stderrHead[0]?.startsWith('bwrap: ') === true;
}

export function classifyExit(o: ExitObservation): JobOutcome {
  const exitCode = o.code ?? (o.signal ? 128 + (constants.signals[o.signal] ?? 0) : undefined);
  const base = exitCode !== undefined ? { exitCode } : {};
  if (o.stopped) {
    return { state: 'STOPPED', reason: 'stopped', message: 'stopped by request', ...base };
  }
  if (o.shutdown) {
    return {
      state: 'STOPPED',
      reason: 'stopped',
      message: 'agent stopped: the job was killed after the shutdown deadline',
      ...base,
    };
  }
  if (o.timedOut) {
    return {
      state: 'FAILED',
      reason: 'timeout',
      message: `timed out after ${o.timeoutS} s (limits.timeoutS) and was killed`,
      ...base,
    };
  }
  if (o.oomKills > 0) {
    return {
      state: 'FAILED',
      reason: 'out-of-memory',
      message: `out of memory (limit ${o.memoryMB ?? '?'} MB): the kernel killed it`,
      ...base,
    };
  }
  const missing = missingCommand(o);
  if (missing !== undefined) {
    // The shell's answer, not "the sandbox could not be set up": the sandbox was fine.
    return {
      state: 'FAILED',
      reason: 'exited',
      exitCode: COMMAND_NOT_FOUND,
      message: `${missing}: command not found in runtime ${o.runtime ?? 'of the job'}`,
    };
  }
  if (setupFailed(o)) {
    return {
      state: 'FAILED',
      reason: 'start-failed',
      message: `the sandbox could not be set up: ${o.stderrHead.join(' ').slice(0, 1000)}`,
    };
  }
  if (o.code === 0) return { state: 'COMPLETED', exitCode: 0 };
  if (o.code === null) {
    // bwrap itself was killed: nobody here asked for it (stop, timeout, OOM are handled above).
    return {
      state: 'FAILED',
      reason: 'signaled',
      ...base,
      ...(o.signal && { signal: o.signal }),
      message: `killed by ${o.signal ?? 'a signal'}`,
    };
  }
  if (o.code > 128 && o.code <= 128 + 64) {
    // The shell convention bwrap follows: the command died of signal code-128.
    const name = signalName(o.code - 128);
    return {
      state: 'FAILED',
      reason: 'signaled',
      exitCode: o.code,
      ...(name && { signal: name }),
      message: `killed by ${name ?? `signal ${o.code - 128}`}`,
    };
  }
  return {
    state: 'FAILED',
    reason: 'exited',
    exitCode: o.code,
    message: `exited with code ${o.code}`,
  };
}

/** What the job's cgroup says it used, as the record keeps it. */
export function usageOf(stats: CgroupStats): {
  peakMemoryBytes?: number;
  cpuUsageUsec: number;
  oomKills: number;
} {
  return {
    ...(stats.memoryPeakBytes !== undefined && { peakMemoryBytes: stats.memoryPeakBytes }),
    cpuUsageUsec: stats.cpuUsageUsec,
    oomKills: stats.oomKills,
  };
}
