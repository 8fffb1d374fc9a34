// The agent's reconciler for the jobs it runs: every few seconds a running job's record is read
// back. Records and processes disagree after faults: a Redis outage longer than the heartbeat
// window makes the API (or another agent's queue worker) declare the job FAILED (node lost)
// while its process goes on here. Then the record is RE-ATTACHED (corrected to RUNNING, later to
// its real end) rather than the process stopped: the process is healthy, its output and exit are
// real, and no other node will run the job (a job is never run twice), so stopping it would only
// throw away work. A record that ended any other way (stopped, canceled, another node's) means the
// job is not ours to run any more: its process is stopped.
import type { Logger } from '@joblet/logging';
import { FINAL_JOB_STATES, type JobRecord } from '@joblet/spec';
import type { JobRecorder } from './job-recorder.js';

export interface RecordWatchOptions {
  recorder: JobRecorder;
  /** One read of the record (not retried: a check missed while Redis is away is just skipped). */
  read: () => Promise<JobRecord | undefined>;
  node: string;
  everyMs: number;
  log: Logger;
  /** The record ended in a way that is not this process's: stop it. */
  stop: (rec: JobRecord) => void;
}

/** Starts the checks; the returned function ends them. */
export function watchRecord(o: RecordWatchOptions): () => void {
  let checking = false;
  let ended = false;
  const check = async (): Promise<void> => {
    const rec = await o.read();
    if (!rec || !FINAL_JOB_STATES.includes(rec.state)) return;
    if (rec.state === 'FAILED' && rec.reason === 'node-lost' && rec.node === o.node) {
      await o.recorder.reattach('its process is still running on this node');
      return;
    }
    o.log.warn(
      { state: rec.state, reason: rec.reason, node: rec.node },
      'job record ended elsewhere while its process ran here; stopping the process',
    );
    ended = true;
    o.stop(rec);
  };
  const timer = setInterval(() => {
    if (checking || ended) return;
    checking = true;
    void check()
      .catch((err: unknown) => o.log.debug({ err }, 'job record check skipped'))
      .finally(() => (checking = false));
  }, o.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
