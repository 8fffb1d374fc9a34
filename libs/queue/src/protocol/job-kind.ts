/**
 * A job kind of the queue protocol: a job name with its payload schema, its job id rule and the
 * BullMQ options producers give it. Producers build their jobs with {@link jobFor} or
 * {@link enqueue}; consumers parse payloads through a `JobRegistry` (registry.ts), so both ends
 * read one definition.
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { z } from 'zod';
import type { JobName } from '../names.js';

/** One job kind: name, payload schema, id rule, default options. */
export interface JobKind<S extends z.ZodType = z.ZodType> {
  readonly name: JobName;
  /** The payload; consumers parse `job.data` with it before a handler sees it. */
  readonly schema: S;
  /** BullMQ options every job of this kind is added with (a producer may add to them). */
  readonly options: Readonly<JobsOptions>;
  /**
   * The job id of a payload, when it must be deterministic (to find, dedupe or cancel the job);
   * absent: BullMQ numbers the job.
   */
  jobId?(data: z.input<S>): string;
}

/** Declares a job kind (an identity function that keeps the schema's type). */
export function defineJobKind<S extends z.ZodType>(kind: JobKind<S>): JobKind<S> {
  return kind;
}

/** What a producer hands BullMQ (`Queue.add`, `addBulk`, a flow's node). */
export interface ProtocolJob<S extends z.ZodType = z.ZodType> {
  name: JobName;
  data: z.input<S>;
  opts: JobsOptions;
}

/**
 * A job of `kind`: its name, the payload as given, and the protocol's options with the job id of
 * the payload; `opts` (a delay, a test's shorter backoff) are laid over them.
 */
export function jobFor<S extends z.ZodType>(
  kind: JobKind<S>,
  data: z.input<S>,
  opts: JobsOptions = {},
): ProtocolJob<S> {
  const id = kind.jobId?.(data);
  return {
    name: kind.name,
    data,
    opts: { ...kind.options, ...(id !== undefined && { jobId: id }), ...opts },
  };
}

/** Adds one job of `kind` to `queue` (see {@link jobFor}). */
export function enqueue<S extends z.ZodType>(
  queue: Queue,
  kind: JobKind<S>,
  data: z.input<S>,
  opts: JobsOptions = {},
) {
  const j = jobFor(kind, data, opts);
  return queue.add(j.name, j.data, j.opts);
}

/** The job kinds one queue (or family of queues, e.g. `jobs-<arch>`) carries. */
export interface QueueJobs {
  /** The queue's name pattern, for messages (`build-<arch>`, `node-<name>`). */
  readonly queue: string;
  readonly kinds: readonly JobKind[];
}

/**
 * Where a payload does not match: `field: problem` per issue, `(payload)` for the whole of it,
 * so the failed job names the field.
 */
export function describePayloadIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(payload)'}: ${i.message}`)
    .join('; ');
}
