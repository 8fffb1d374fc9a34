/**
 * The handler registry every consumer uses: one handler per job kind of the queue it consumes.
 * Constructing it fails when a kind of that queue has no handler, has two, or a handler is for a
 * kind the queue does not carry — so a consumer with a gap refuses to start instead of failing
 * jobs later. At run time a job is dispatched by name with its payload parsed by the kind's
 * schema; an unknown name or a payload that does not parse fails the job at once with BullMQ's
 * `UnrecoverableError` (retrying cannot fix either).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { describePayloadIssues, type JobKind, type QueueJobs } from './job-kind.js';

/** The handler of one job kind. */
export interface JobHandler<S extends z.ZodType = z.ZodType> {
  readonly kind: JobKind<S>;
  /** `data` is the parsed payload; `token` is BullMQ's lock token of this attempt (for moveToWait). */
  handle(job: Job, data: z.output<S>, token: string | undefined): Promise<unknown>;
}

/** Declares the handler of `kind`, its payload type inferred from the kind's schema. */
export function defineHandler<S extends z.ZodType>(
  kind: JobKind<S>,
  handle: JobHandler<S>['handle'],
): JobHandler<S> {
  return { kind, handle };
}

export type JobRegistryErrorCode = 'HANDLER_MISSING' | 'HANDLER_DOUBLED' | 'HANDLER_FOREIGN';

/** A registry that cannot serve its queue: thrown at construction, i.e. at start-up. */
export class JobRegistryError extends Error {
  override readonly name = 'JobRegistryError';
  constructor(
    readonly code: JobRegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class JobRegistry {
  private readonly byName = new Map<string, JobHandler>();

  /** @throws JobRegistryError when a kind of `queue` has no handler or two, or one is foreign. */
  constructor(
    readonly queue: QueueJobs,
    handlers: readonly JobHandler[],
  ) {
    const carried = new Set<string>(queue.kinds.map((k) => k.name));
    for (const h of handlers) {
      const name = h.kind.name;
      if (!carried.has(name)) {
        throw new JobRegistryError(
          'HANDLER_FOREIGN',
          `job kind "${name}" is not carried by ${queue.queue}`,
        );
      }
      if (this.byName.has(name)) {
        throw new JobRegistryError('HANDLER_DOUBLED', `job kind "${name}" has two handlers`);
      }
      this.byName.set(name, h);
    }
    const missing = [...carried].filter((n) => !this.byName.has(n));
    if (missing.length > 0) {
      throw new JobRegistryError(
        'HANDLER_MISSING',
        `job kind(s) of ${queue.queue} without a handler: ${missing.map((n) => `"${n}"`).join(', ')}`,
      );
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The BullMQ processor: dispatch by job name, payload parsed by the kind's schema. */
  async process(job: Job, token?: string): Promise<unknown> {
    const handler = this.byName.get(job.name);
    if (!handler) {
      throw new UnrecoverableError(`no handler for job kind "${job.name}" on ${this.queue.queue}`);
    }
    const parsed = handler.kind.schema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        `invalid ${job.name} payload: ${describePayloadIssues(parsed.error)}`,
      );
    }
    return handler.handle(job, parsed.data, token);
  }

  /** `process` bound to this registry, to hand to `new Worker(…)`. */
  readonly processor = (job: Job, token?: string): Promise<unknown> => this.process(job, token);
}
