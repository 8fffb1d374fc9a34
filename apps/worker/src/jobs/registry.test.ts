import { UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JOB_NAMES } from '@joblet/queue';
import { JobRegistry, defineJob } from './registry.js';

const handler = (name: (typeof JOB_NAMES)[keyof typeof JOB_NAMES]) =>
  defineJob({
    name,
    schema: z.object({ n: z.number() }),
    handle: (_job, data) => Promise.resolve(data.n * 2),
  });

const job = (name: string, data: unknown) => ({ name, data }) as unknown as Job;

describe('JobRegistry', () => {
  it('fails at boot when a consumed job kind has no handler', () => {
    expect(
      () => new JobRegistry([handler(JOB_NAMES.build)], [JOB_NAMES.build, JOB_NAMES.publish]),
    ).toThrow('job kind(s) without a handler: "publish-runtime"');
  });

  it('fails at boot when a job kind has two handlers', () => {
    expect(
      () =>
        new JobRegistry([handler(JOB_NAMES.build), handler(JOB_NAMES.build)], [JOB_NAMES.build]),
    ).toThrow('job kind "build-runtime" has two handlers');
  });

  it('dispatches by name with the parsed payload', async () => {
    const r = new JobRegistry(
      [handler(JOB_NAMES.build), handler(JOB_NAMES.publish)],
      [JOB_NAMES.build],
    );
    expect(await r.process(job(JOB_NAMES.publish, { n: 21 }), undefined)).toBe(42);
  });

  it('fails a job with an unknown name or a bad payload without retry', async () => {
    const r = new JobRegistry([handler(JOB_NAMES.build)], [JOB_NAMES.build]);
    await expect(r.process(job('other', {}), undefined)).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(r.process(job(JOB_NAMES.build, { n: 'x' }), undefined)).rejects.toThrow(
      /invalid build-runtime payload/,
    );
  });
});
