// Why a job could not be started or run: the end reason the record gets, with the message a user
// reads in `rnx job status`. Thrown by the preparation steps, turned into a FAILED/STOPPED record
// by the runner; never crosses a process boundary as an exception.
import type { JobEndReason, JobState } from '@joblet/spec';

export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  constructor(
    message: string,
    readonly reason: JobEndReason,
    /** The final state: FAILED, or STOPPED for a stop that came while the job was starting. */
    readonly state: Extract<JobState, 'FAILED' | 'STOPPED'> = 'FAILED',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A job id as the API makes it (a UUID), or anything equally safe as a path segment. */
const JOB_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}
