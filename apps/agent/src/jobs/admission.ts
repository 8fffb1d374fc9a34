// Which jobs may start on this node now: each job reserves the CPU and memory its limits give
// (`--max-cpu`/`--cpu-cores`, `--max-memory`), or the node's defaults for a job without them,
// from what the node has (its cores, the memory free when the agent started); a job that does
// not fit waits, in arrival order, until running jobs give theirs back. A count of cores would
// run two `true` jobs at a time on a 2-core node; short jobs use a sliver of a core each.
import { parseCpuList } from '@joblet/sandbox';
import type { JobLimits } from '@joblet/spec';
import { JobFailure } from './job-errors.js';

const MiB = 1024 * 1024;

/** What a job reserves while it runs. */
export interface JobNeed {
  /** 100 = one core. */
  cpuPercent: number;
  memoryBytes: number;
}

export interface AdmissionOptions {
  /** CPU the node offers jobs, 100 = one core (its cores × 100). */
  cpuPercent: number;
  /** Memory the node offers jobs, in bytes (what was free when the agent started). */
  memoryBytes: number;
  /** What a job without a CPU limit reserves (AGENT_JOB_CPU_PERCENT). */
  defaultCpuPercent: number;
  /** What a job without a memory limit reserves, in bytes (AGENT_JOB_MEMORY_MB). */
  defaultMemoryBytes: number;
  node: string;
}

interface Waiter {
  need: JobNeed;
  admit: () => void;
}

/** Gives back what an admitted job reserved; calling it again does nothing. */
export type Release = () => void;

export class Admission {
  private usedCpu = 0;
  private usedMemory = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly o: AdmissionOptions) {}

  /** What a job with these limits reserves. */
  needOf(l: JobLimits): JobNeed {
    const cores = l.cpuCores !== undefined ? (parseCpuList(l.cpuCores)?.length ?? 0) : 0;
    const cpuPercent = Math.min(
      l.maxCpuPercent ?? Number.POSITIVE_INFINITY,
      cores > 0 ? cores * 100 : Number.POSITIVE_INFINITY,
    );
    return {
      cpuPercent: Number.isFinite(cpuPercent) ? cpuPercent : this.o.defaultCpuPercent,
      memoryBytes: l.maxMemoryMB !== undefined ? l.maxMemoryMB * MiB : this.o.defaultMemoryBytes,
    };
  }

  /** Jobs admitted now, and jobs waiting for room (for logs, tests and the heartbeat). */
  state(): { cpuPercent: number; memoryBytes: number; waiting: number } {
    return { cpuPercent: this.usedCpu, memoryBytes: this.usedMemory, waiting: this.waiting.length };
  }

  /**
   * Resolves once the job fits (its release given back when it ends). Throws a start-failed
   * JobFailure at once when it could never fit on this node, and rejects with the signal's reason
   * when `signal` aborts while it waits.
   */
  admit(need: JobNeed, signal?: AbortSignal): Promise<Release> {
    const { cpuPercent, memoryBytes, node } = this.o;
    // A job larger than the node never fits: say so instead of waiting for ever.
    if (need.memoryBytes > memoryBytes) {
      const mb = (b: number) => Math.round(b / MiB);
      return Promise.reject(
        new JobFailure(
          `--max-memory ${mb(need.memoryBytes)} MB is more than node ${node} has for jobs: ` +
            `${mb(memoryBytes)} MB`,
          'start-failed',
        ),
      );
    }
    if (need.cpuPercent > cpuPercent) {
      return Promise.reject(
        new JobFailure(
          `the job's CPU (${need.cpuPercent} %, 100 = one core) is more than node ${node} has: ` +
            `${cpuPercent} %`,
          'start-failed',
        ),
      );
    }
    // Arrival order: a large job is not overtaken for ever by small ones.
    if (this.waiting.length === 0 && this.fits(need)) return Promise.resolve(this.take(need));
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        need,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take(need));
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason as Error);
        this.drain(); // the head may have been this one
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private fits(need: JobNeed): boolean {
    return (
      this.usedCpu + need.cpuPercent <= this.o.cpuPercent &&
      this.usedMemory + need.memoryBytes <= this.o.memoryBytes
    );
  }

  private take(need: JobNeed): Release {
    this.usedCpu += need.cpuPercent;
    this.usedMemory += need.memoryBytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.usedCpu -= need.cpuPercent;
      this.usedMemory -= need.memoryBytes;
      this.drain();
    };
  }

  /** Admits waiting jobs from the head while they fit. */
  private drain(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.need)) {
      this.waiting.shift()!.admit();
    }
  }
}
