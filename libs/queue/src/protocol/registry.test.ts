import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '@joblet/testkit';
import { createRedis } from '../connection.js';
import { deleteKeys } from '../redis-client.js';
import { BUILD_QUEUE_JOBS, BUILD_RUNTIME_JOB, PUBLISH_RUNTIME_JOB } from './builds.js';
import { enqueue } from './job-kind.js';
import { JOB_QUEUE_JOBS, RUN_JOB } from './jobs.js';
import {
  NODE_QUEUE_JOBS,
  RUNTIME_TEST_JOB,
  VOLUME_CREATE_JOB,
  VOLUME_REMOVE_JOB,
} from './node-calls.js';
import { JobRegistry, JobRegistryError, defineHandler, type JobHandler } from './registry.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const echo = (kind: JobHandler['kind']) =>
  defineHandler(kind, (_job, data) => Promise.resolve({ kind: kind.name, data }));
const nodeHandlers = () => [
  echo(RUN_JOB),
  echo(RUNTIME_TEST_JOB),
  echo(VOLUME_CREATE_JOB),
  echo(VOLUME_REMOVE_JOB),
];

function registryError(build: () => unknown): JobRegistryError {
  try {
    build();
  } catch (err) {
    if (err instanceof JobRegistryError) return err;
    throw err;
  }
  throw new Error('the registry was constructed');
}

describe('JobRegistry at construction', () => {
  it('refuses a queue with a job kind that has no handler, naming it', () => {
    const err = registryError(() => new JobRegistry(NODE_QUEUE_JOBS, nodeHandlers().slice(0, 2)));
    expect(err.code).toBe('HANDLER_MISSING');
    expect(err.message).toBe(
      'job kind(s) of node-<name> without a handler: "volume-create", "volume-remove"',
    );
  });

  it('refuses a job kind with two handlers', () => {
    const err = registryError(
      () => new JobRegistry(BUILD_QUEUE_JOBS, [echo(BUILD_RUNTIME_JOB), echo(BUILD_RUNTIME_JOB)]),
    );
    expect(err.code).toBe('HANDLER_DOUBLED');
    expect(err.message).toBe('job kind "build-runtime" has two handlers');
  });

  it('refuses a handler for a job kind its queue does not carry', () => {
    const err = registryError(
      () => new JobRegistry(BUILD_QUEUE_JOBS, [echo(BUILD_RUNTIME_JOB), echo(PUBLISH_RUNTIME_JOB)]),
    );
    expect(err.code).toBe('HANDLER_FOREIGN');
    expect(err.message).toBe('job kind "publish-runtime" is not carried by build-<arch>');
  });

  it('serves a queue with exactly one handler per kind', () => {
    expect(new JobRegistry(NODE_QUEUE_JOBS, nodeHandlers()).names().sort()).toEqual([
      'run-job',
      'runtime-test',
      'volume-create',
      'volume-remove',
    ]);
  });
});

describe('JobRegistry as a BullMQ processor (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let queue: Queue;
  let events: QueueEvents;
  let worker: Worker;
  const prefixes: string[] = [];
  let blocking: Redis[] = [];
  /** A connection for a worker or QueueEvents (BullMQ leaves the ones it is given open). */
  const blockingConnection = () => {
    const c = createRedis({ url: REDIS_URL, forWorker: true });
    blocking.push(c);
    return c;
  };

  beforeAll(() => {
    redis = createRedis({ url: REDIS_URL });
  });
  afterEach(async () => {
    await worker?.close();
    await events?.close();
    await queue?.close();
    await Promise.all(blocking.map((c) => c.quit()));
    blocking = [];
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
    redis.disconnect();
  });

  /** A `jobs-<arch>`-like queue under a fresh prefix, consumed through `registry`. */
  async function consume(registry: JobRegistry): Promise<void> {
    prefix = uniqueName('registry');
    prefixes.push(prefix);
    const name = 'jobs-amd64';
    queue = new Queue(name, { connection: redis, prefix });
    events = new QueueEvents(name, { connection: blockingConnection(), prefix });
    worker = new Worker(name, registry.processor, { connection: blockingConnection(), prefix });
    await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  }

  /** The job once finished: its state, attempts made and failure reason. */
  async function finished(job: Job): Promise<Job> {
    await job.waitUntilFinished(events, 10_000).catch(() => undefined);
    return (await Job.fromId(queue, job.id!))!;
  }

  it('hands a handler the parsed payload and returns its result', async () => {
    await consume(new JobRegistry(JOB_QUEUE_JOBS, [echo(RUN_JOB)]));
    const job = await enqueue(queue, RUN_JOB, { jobId: 'j-1' });
    expect(job.id).toBe('j-1'); // the protocol's id rule
    expect(await job.waitUntilFinished(events, 10_000)).toEqual({
      kind: 'run-job',
      data: { jobId: 'j-1' },
    });
  });

  it('fails a job of an unknown kind at once, without retry', async () => {
    await consume(new JobRegistry(JOB_QUEUE_JOBS, [echo(RUN_JOB)]));
    const job = await queue.add('volume-create', { name: 'v' }, { attempts: 3 });
    const done = await finished(job);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect(done.failedReason).toBe('no handler for job kind "volume-create" on jobs-<arch>');
  });

  it('fails a job whose payload does not parse at once, naming the field', async () => {
    await consume(new JobRegistry(JOB_QUEUE_JOBS, [echo(RUN_JOB)]));
    const job = await queue.add(RUN_JOB.name, { jobId: 42 }, { attempts: 3 });
    const done = await finished(job);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect(done.failedReason).toMatch(/^invalid run-job payload: jobId: .*expected string/);
  });

  it('retries what a handler throws as transient, as the job options say', async () => {
    let calls = 0;
    const flaky = defineHandler(RUN_JOB, () =>
      ++calls < 2 ? Promise.reject(new Error('redis blip')) : Promise.resolve('ok'),
    );
    await consume(new JobRegistry(JOB_QUEUE_JOBS, [flaky]));
    const job = await enqueue(queue, RUN_JOB, { jobId: 'j-2' }, { attempts: 2 });
    expect(await job.waitUntilFinished(events, 10_000)).toBe('ok');
    expect(calls).toBe(2);
  });
});
