/**
 * Jobs: a `run-job` names a job record (`Keys.job`) the API wrote; the agent that takes it runs
 * that job. It is queued on `jobs-<arch>` (any node of the architecture) or, when pinned, on the
 * node's own queue (node-calls.ts).
 */
import { z } from 'zod';
import { JOB_NAMES } from '../names.js';
import { defineJobKind, type QueueJobs } from './job-kind.js';

/** Payload of a `run-job` job. */
export const RunJobData = z.object({ jobId: z.string() });
export type RunJobData = z.infer<typeof RunJobData>;

/** Finished `run-job` queue entries are dropped after this long (s); job records keep their own retention. */
export const KEEP_RUN_JOBS_S = 3600;

export const RUN_JOB = defineJobKind({
  name: JOB_NAMES.runJob,
  schema: RunJobData,
  /** The job record's id: one queue entry per job, found again by it. */
  jobId: (d) => d.jobId,
  options: {
    // A job is never run twice: a failure (node lost included) is final.
    attempts: 1,
    removeOnComplete: { age: KEEP_RUN_JOBS_S },
    removeOnFail: { age: KEEP_RUN_JOBS_S },
  },
});

export const JOB_QUEUE_JOBS: QueueJobs = { queue: 'jobs-<arch>', kinds: [RUN_JOB] };
