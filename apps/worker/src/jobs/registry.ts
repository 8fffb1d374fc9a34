/**
 * The job registry: each job kind's name paired with its payload schema and handler. The worker
 * fails at boot when a kind it consumes has no handler or two, and a job whose payload does not
 * parse fails at once (retrying cannot fix it).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import type { JOB_NAMES } from '@joblet/queue';

export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

export interface JobHandler<S extends z.ZodType = z.ZodType> {
  name: JobName;
  schema: S;
  /** `token` is BullMQ's lock token of this attempt (for moveToWait on hand-back). */
  handle(job: Job, data: z.infer<S>, token: string | undefined): Promise<unknown>;
}

/** Declares a handler with its payload type inferred from the schema. */
export function defineJob<S extends z.ZodType>(h: JobHandler<S>): JobHandler<S> {
  return h;
}

export class JobRegistry {
  private readonly byName = new Map<string, JobHandler>();

  /** @throws Error when a name has two handlers or one of `required` has none. */
  constructor(handlers: readonly JobHandler[], required: readonly JobName[]) {
    for (const h of handlers) {
      if (this.byName.has(h.name)) throw new Error(`job kind "${h.name}" has two handlers`);
      this.byName.set(h.name, h);
    }
    const missing = required.filter((n) => !this.byName.has(n));
    if (missing.length > 0) {
      throw new Error(`job kind(s) without a handler: ${missing.map((n) => `"${n}"`).join(', ')}`);
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The BullMQ processor: dispatch by job name, payload parsed by the handler's schema. */
  async process(job: Job, token: string | undefined): Promise<unknown> {
    const handler = this.byName.get(job.name);
    if (!handler) throw new UnrecoverableError(`no handler for job kind "${job.name}"`);
    const parsed = handler.schema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`invalid ${job.name} payload: ${parsed.error.message}`);
    }
    return handler.handle(job, parsed.data, token);
  }
}
