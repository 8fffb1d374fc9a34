// The writes of one job's record that must land: its state changes and, above all, its end with
// the real exit code. Each is retried for as long as Redis is unreachable (untilRedisAnswers):
// a Redis restart while a job ends delays its record, it does not leave it RUNNING or turn a job
// that ran into `start-failed`. JobStore.transition is safe to repeat (compare-and-set, the
// event in the same step), so a write that landed before the connection dropped is not doubled.
import type { Logger } from '@joblet/logging';
import { untilRedisAnswers, type JobStore, type TransitionOptions } from '@joblet/queue';
import type { JobRecord, JobState } from '@joblet/spec';

export interface JobRecorderOptions {
  store: JobStore;
  jobId: string;
  /** This node: only its own node-lost records are re-attached. */
  node: string;
  log: Logger;
  /** True once waiting for Redis must stop (the agent's shutdown deadline passed). */
  giveUp?: () => boolean;
}

export class JobRecorder {
  constructor(private readonly o: JobRecorderOptions) {}

  private retry<T>(what: string, step: () => Promise<T>): Promise<T> {
    return untilRedisAnswers(step, {
      ...(this.o.giveUp && { giveUp: this.o.giveUp }),
      onRetry: (err, attempt, waitMs) => {
        // The first failure and then every ~20 s (waits are 2 s at most): no flood of warnings.
        if (attempt === 1 || attempt % 10 === 0) {
          this.o.log.warn({ err, attempt, waitMs, what }, 'job record waits for Redis');
        }
      },
    });
  }

  get(): Promise<JobRecord | undefined> {
    return this.retry('read', () => this.o.store.get(this.o.jobId));
  }

  /**
   * JobStore.transition, retried while Redis is away; undefined when it is not allowed. `from`
   * is used by the first attempt only (a retry reads the record).
   */
  transition(
    state: JobState,
    patch: Partial<JobRecord> = {},
    opts: TransitionOptions = {},
  ): Promise<JobRecord | undefined> {
    let first = true;
    return this.retry(`transition to ${state}`, () => {
      const o = first ? opts : { ...(opts.onSent && { onSent: opts.onSent }) };
      first = false;
      return this.o.store.transition(this.o.jobId, state, patch, o);
    });
  }

  /**
   * Records the end of a job that ran here. When its record was declared lost meanwhile (this
   * node's heartbeat or queue lock lapsed while Redis was away) the record is re-attached first,
   * so it ends with the real exit and not "node lost". Returns the record as it ends up.
   */
  async settle(
    state: JobState,
    patch: Partial<JobRecord>,
    from?: JobRecord,
  ): Promise<JobRecord | undefined> {
    const done = await this.transition(state, patch, from && { from });
    if (done) return done;
    if (await this.reattach('the job ended here while its record said node lost')) {
      const again = await this.transition(state, patch);
      if (again) return again;
    }
    return this.get();
  }

  /**
   * FAILED (node lost) back to RUNNING when the record is this node's and says so; logs why.
   * Returns the corrected record, or undefined when the record says anything else.
   */
  async reattach(why: string): Promise<JobRecord | undefined> {
    const before = await this.get();
    if (before?.state !== 'FAILED' || before.reason !== 'node-lost') return undefined;
    if (before.node !== this.o.node) return undefined;
    const rec = await this.retry('re-attach', () =>
      this.o.store.reattach(this.o.jobId, this.o.node),
    );
    if (rec) {
      this.o.log.warn(
        { why, lostMessage: before.message },
        'job re-attached: its record said node lost, but its process runs on this node',
      );
    }
    return rec;
  }
}
