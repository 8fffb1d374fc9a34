import { FlowProducer, Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '@joblet/testkit';
import { createRedis } from '../connection.js';
import { PUBLISH_QUEUE, buildQueueName } from '../names.js';
import { deleteKeys } from '../redis-client.js';
import {
  BUILD_ATTEMPTS,
  BUILD_BACKOFF_MS,
  KEEP_BUILD_JOBS_S,
  buildFlow,
  childJobId,
  type BuildJobData,
  type PublishJobData,
} from './builds.js';

const publish = (allowPartial: boolean): PublishJobData => ({
  buildId: 'b-1',
  name: 'py',
  version: '1.0.0',
  submissionKey: 'k',
  arches: ['amd64', 'arm64'],
  allowPartial,
});
const child = (arch: 'amd64' | 'arm64'): BuildJobData => ({
  buildId: 'b-1',
  arch,
  specText: 'name: py',
  buildKey: `key-${arch}`,
  verbose: false,
});

describe('buildFlow', () => {
  it('puts the parent on publish under the build id and each child on its arch queue', () => {
    const flow = buildFlow(publish(false), [child('amd64'), child('arm64')]);
    expect(flow).toMatchObject({
      name: 'publish-runtime',
      queueName: PUBLISH_QUEUE,
      opts: { jobId: 'b-1', removeOnComplete: { age: KEEP_BUILD_JOBS_S } },
    });
    expect(flow.children!.map((c) => [c.queueName, c.opts?.jobId])).toEqual([
      ['build-amd64', 'b-1-amd64'],
      ['build-arm64', 'b-1-arm64'],
    ]);
    expect(flow.children![0]!.opts).toEqual({
      jobId: 'b-1-amd64',
      attempts: BUILD_ATTEMPTS,
      backoff: { type: 'exponential', delay: BUILD_BACKOFF_MS },
      removeOnComplete: { age: KEEP_BUILD_JOBS_S },
      removeOnFail: { age: KEEP_BUILD_JOBS_S },
      failParentOnFailure: true,
    });
  });

  it('lets the parent run without failed children when partial results are allowed', () => {
    const opts = buildFlow(publish(true), [child('amd64')], { attempts: 1, backoffMs: 10 })
      .children![0]!.opts;
    expect(opts).toMatchObject({
      attempts: 1,
      backoff: { type: 'exponential', delay: 10 },
      ignoreDependencyOnFailure: true,
    });
    expect(opts).not.toHaveProperty('failParentOnFailure');
  });
});

describe('buildFlow in Redis', () => {
  let redis: Redis;
  const prefix = uniqueName('flow');
  beforeAll(() => {
    redis = createRedis({ url: 'redis://127.0.0.1:6379' });
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  it('enqueues children that childJobId finds, with the protocol options', async () => {
    const flows = new FlowProducer({ connection: redis, prefix });
    const queue = new Queue(buildQueueName('arm64'), { connection: redis, prefix });
    try {
      await flows.add(buildFlow(publish(false), [child('amd64'), child('arm64')]));
      const job = await Job.fromId(queue, childJobId('b-1', 'arm64'));
      expect(job?.data).toEqual(child('arm64'));
      expect(job?.opts).toMatchObject({ attempts: BUILD_ATTEMPTS, failParentOnFailure: true });
      expect(job?.parentKey).toBe(`${prefix}:${PUBLISH_QUEUE}:b-1`);
    } finally {
      await queue.close();
      await flows.close();
    }
  });
});
