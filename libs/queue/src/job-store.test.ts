import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { JobEvent, type JobRecord } from '@joblet/spec';
import { uniqueName } from '@joblet/testkit';
import { createRedis } from './connection.js';
import { readAfter } from './event-stream.js';
import { JobStore } from './job-store.js';
import { Keys } from './names.js';

const job = (id: string): JobRecord => ({
  id,
  state: 'QUEUED',
  command: 'python3',
  args: ['-V'],
  runtime: { ref: 'python-3.11', name: 'python-3.11', version: '1.0.0' },
  arch: 'amd64',
  network: 'none',
  limits: {},
  volumes: [],
  env: [],
  uploads: [],
  createdAt: new Date().toISOString(),
});

describe('JobStore', () => {
  let redis: Redis;
  let store: JobStore;
  const keys = new Keys(uniqueName('jobs'));
  beforeAll(() => {
    redis = createRedis({ url: 'redis://127.0.0.1:6379' });
    store = new JobStore(redis, keys, 60);
  });
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });

  it('moves a job through its states, appending state and end events in order', async () => {
    await store.create(job('j1'));
    expect((await store.transition('j1', 'INITIALIZING', { node: 'n1' }))?.node).toBe('n1');
    await store.event('j1', { type: 'out', stream: 'stdout', line: 'hello' });
    await store.transition('j1', 'RUNNING');
    const done = await store.transition('j1', 'COMPLETED', { exitCode: 0, reason: 'exited' });
    expect(done).toMatchObject({ state: 'COMPLETED', exitCode: 0, node: 'n1' });
    const events = (await readAfter(redis, keys.jobEvents('j1'), JobEvent)).map((e) => e.event);
    expect(events).toEqual([
      { type: 'state', state: 'QUEUED' },
      { type: 'state', state: 'INITIALIZING', node: 'n1' },
      { type: 'out', stream: 'stdout', line: 'hello' },
      { type: 'state', state: 'RUNNING', node: 'n1' },
      { type: 'end', state: 'COMPLETED', exitCode: 0, reason: 'exited' },
    ]);
    // Finished jobs expire with the retention.
    expect(await redis.ttl(keys.job('j1'))).toBeGreaterThan(0);
  });

  it('transition from a known record: no read first; a stale one falls back to reading', async () => {
    await store.create(job('jf'));
    const init = await store.transition('jf', 'INITIALIZING', { node: 'n1' });
    // What onSent sends runs after the swap: the RUNNING event precedes the line in the stream,
    // and the record is RUNNING by the time the line is there.
    let recordWhenLine: string | undefined;
    const running = await store.transition(
      'jf',
      'RUNNING',
      { startedAt: 'now' },
      {
        from: init!,
        onSent: () => {
          void store.event('jf', { type: 'out', stream: 'stdout', line: 'first' });
          void redis.get(keys.job('jf')).then((r) => (recordWhenLine = r ?? undefined));
        },
      },
    );
    expect(running).toMatchObject({ state: 'RUNNING', node: 'n1', startedAt: 'now' });
    await redis.ping(); // the commands sent from onSent have been answered
    expect(JSON.parse(recordWhenLine!)).toMatchObject({ state: 'RUNNING' });
    // A `from` that is no longer the record (changed elsewhere): the swap misses, the record is
    // read, and the transition still applies to what is really there.
    await store.patch('jf', { ip: '10.0.0.9' });
    const done = await store.transition('jf', 'COMPLETED', { exitCode: 0 }, { from: running! });
    expect(done).toMatchObject({ state: 'COMPLETED', exitCode: 0, ip: '10.0.0.9' });
    const events = (await readAfter(redis, keys.jobEvents('jf'), JobEvent)).map((e) => e.event);
    expect(events.map((e) => (e.type === 'out' ? e.line : e.state))).toEqual([
      'QUEUED',
      'INITIALIZING',
      'RUNNING',
      'first',
      'COMPLETED',
    ]);
  });

  it('never leaves a final state, and refuses skipping ahead illegally', async () => {
    await store.create(job('j2'));
    expect(await store.transition('j2', 'COMPLETED')).toBeUndefined(); // QUEUED → COMPLETED is not a transition
    await store.transition('j2', 'CANCELED', { reason: 'canceled' });
    expect(await store.transition('j2', 'RUNNING')).toBeUndefined();
    expect((await store.get('j2'))?.state).toBe('CANCELED');
  });

  it('settles concurrent transitions to one winner', async () => {
    await store.create(job('j3'));
    await store.transition('j3', 'INITIALIZING');
    await store.transition('j3', 'RUNNING');
    const results = await Promise.all([
      store.transition('j3', 'COMPLETED', { exitCode: 0 }),
      store.transition('j3', 'STOPPED', { reason: 'stopped' }),
      store.transition('j3', 'FAILED', { reason: 'node-lost' }),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const ends = (await readAfter(redis, keys.jobEvents('j3'), JobEvent)).filter(
      (e) => e.event.type === 'end',
    );
    expect(ends).toHaveLength(1);
  });
});
