/**
 * Redis stays bounded under a long stream of builds and jobs: 10,000 jobs and 1,000 builds go
 * through the real stores (created, run, a few output lines, finished), then the memory of every
 * key under the test's prefix (`MEMORY USAGE … SAMPLES 0`, exact) is summed and held to a stated
 * bound per retained record; the listings stay capped; and with a short retention every record
 * and log expires, leaving only the fixed-size listing and metric keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Arch, BuildMeta, JobRecord } from '@joblet/spec';
import { uniqueName } from '@joblet/testkit';
import { BuildStore } from './build-store.js';
import { createRedis } from './connection.js';
import { appendEvent } from './event-stream.js';
import { JobStore, MAX_LISTED_JOBS } from './job-store.js';
import { Keys } from './names.js';

/**
 * Bytes a finished job may hold in Redis while retained. Measured on Redis 7.0 (jemalloc): its
 * record, a ~600-byte JSON string, 760 B; its log stream of 7 entries (4 state changes, 3
 * output lines), compacted when the job ends, 1,344 B; its listing entry 145 B — 2,249 B in
 * all. Without compaction the log alone held 4.7 KB (Redis preallocates a stream node's 4 KB
 * listpack). 2,600 B leaves ~15% for allocator rounding and longer ids or lines, while a leak —
 * a stray key per job, an uncompacted log, uploads left behind — fails it.
 */
const MAX_BYTES_PER_JOB = 2_600;
/**
 * A finished build: its hash (meta + one arch) 680 B, its 12-event log 1,728 B, its listing
 * entry — 2,542 B measured; bound 3,000 B. (Real builds log more lines: their logs are as long as
 * the output, capped by the stream's MAXLEN, and expire with the retention.)
 */
const MAX_BYTES_PER_BUILD = 3_000;
const JOBS = 10_000;
const BUILDS = 1_000;
/** Operations in flight at once: ioredis pipelines them on one connection. */
const CONCURRENCY = 200;

async function inBatches(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < n; start += CONCURRENCY) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(n, start + CONCURRENCY); i++) batch.push(fn(i));
    await Promise.all(batch);
  }
}

/** Every key under `prefix`, with its exact memory use in bytes. */
async function memoryByKey(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    const p = redis.pipeline();
    for (const k of keys) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    const res = (await p.exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = res[i]?.[1];
      if (typeof bytes === 'number') out.set(k, bytes);
    });
  } while (cursor !== '0');
  return out;
}

const sum = (m: Map<string, number>, pick: (k: string) => boolean = () => true) =>
  [...m].filter(([k]) => pick(k)).reduce((n, [, b]) => n + b, 0);

function jobRecord(i: number, createdAt = new Date()): JobRecord {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    state: 'QUEUED',
    command: 'python3',
    args: ['-c', 'import sys; print(sys.version)'],
    runtime: { ref: 'python-3.11', name: 'python-3.11', version: '1.0.0' },
    arch: 'amd64',
    network: 'none',
    limits: { maxMemoryMB: 512, timeoutS: 60 },
    volumes: [],
    env: ['MODE'],
    uploads: [{ path: 'main.py', bytes: 120 }],
    createdAt: createdAt.toISOString(),
  };
}

async function runJob(store: JobStore, rec: JobRecord): Promise<void> {
  await store.create(rec);
  await store.transition(rec.id, 'INITIALIZING', { node: 'node-a' });
  await store.transition(rec.id, 'RUNNING', {
    startedAt: new Date().toISOString(),
    startLatencyMs: 12,
  });
  for (let l = 0; l < 3; l++)
    await store.event(rec.id, { type: 'out', stream: 'stdout', line: `line ${l} of ${rec.id}` });
  await store.transition(rec.id, 'COMPLETED', {
    exitCode: 0,
    reason: 'exited',
    finishedAt: new Date().toISOString(),
    output: { lines: 3, truncated: false },
  });
}

async function runBuild(store: BuildStore, keys: Keys, redis: Redis, i: number): Promise<void> {
  const id = `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const arch: Arch = 'amd64';
  const meta: BuildMeta = {
    id,
    name: `rt-${i % 50}`,
    version: `1.0.${i}`,
    submissionKey: `sub-${i}`,
    arches: [arch],
    force: false,
    allowPartial: false,
    createdAt: new Date().toISOString(),
  };
  await store.create(meta, { [arch]: { state: 'queued' } });
  const ev = (e: unknown) => appendEvent(redis, keys.buildEvents(id), e);
  await ev({ type: 'submitted', arches: [arch], name: meta.name, version: meta.version });
  for (let n = 1; n <= 5; n++) {
    await ev({ type: 'phase', arch, n, total: 11, name: `phase ${n}` });
    await ev({ type: 'log', arch, stream: 'stdout', line: `output of phase ${n}` });
  }
  const failed = i % 10 === 0;
  await store.updateArch(id, arch, { state: failed ? 'failed' : 'succeeded' });
  await ev({ type: 'done', state: failed ? 'failed' : 'succeeded' });
  await store.finish(id, failed ? 'failed' : 'succeeded');
}

describe('Redis memory under a long stream of jobs and builds', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = createRedis({ url: 'redis://127.0.0.1:6379' });
  });
  afterAll(async () => {
    for (const p of prefixes) {
      const found = await redis.keys(`${p}:*`);
      for (let i = 0; i < found.length; i += 1000) await redis.del(...found.slice(i, i + 1000));
    }
    redis.disconnect();
  });

  it(`${JOBS} finished jobs and ${BUILDS} builds stay under the stated bytes each; listings are capped`, async () => {
    const keys = new Keys(uniqueName('mem'));
    prefixes.push(keys.prefix);
    const jobs = new JobStore(redis, keys);
    const builds = new BuildStore(redis, keys);
    await inBatches(JOBS, (i) => runJob(jobs, jobRecord(i)));
    await inBatches(BUILDS, (i) => runBuild(builds, keys, redis, i));

    const mem = await memoryByKey(redis, keys.prefix);
    const jobBytes = sum(mem, (k) => k.startsWith(`${keys.prefix}:job:`) || k === keys.jobs);
    const buildBytes = sum(mem, (k) => k.startsWith(`${keys.prefix}:build:`) || k === keys.builds);
    const other = sum(mem) - jobBytes - buildBytes;
    const part = (re: RegExp, n: number) => Math.round(sum(mem, (k) => re.test(k)) / n);
    console.log(
      `per job: record ${part(/:job:[^:]+$/, JOBS)} B, log ${part(/:job:.*:events$/, JOBS)} B, ` +
        `listing ${Math.round((mem.get(keys.jobs) ?? 0) / JOBS)} B; per build: hash ` +
        `${part(/:build:[^:]+$/, BUILDS)} B, log ${part(/:build:.*:events$/, BUILDS)} B`,
    );
    // Uploads (secrets) are gone with the job; only a record and a log stream remain per job.
    expect(mem.size).toBeLessThanOrEqual(2 * JOBS + 2 * BUILDS + 10);
    expect([...mem.keys()].filter((k) => k.endsWith(':uploads'))).toEqual([]);
    console.log(
      `redis memory: ${JOBS} jobs ${jobBytes} B (${Math.round(jobBytes / JOBS)} B/job), ` +
        `${BUILDS} builds ${buildBytes} B (${Math.round(buildBytes / BUILDS)} B/build), other ${other} B`,
    );
    expect(jobBytes / JOBS).toBeLessThan(MAX_BYTES_PER_JOB);
    expect(buildBytes / BUILDS).toBeLessThan(MAX_BYTES_PER_BUILD);
    // Metric hashes are fixed-size whatever the number of jobs and builds.
    expect(other).toBeLessThan(16 * 1024);

    // The listing never grows past its cap: more jobs push the oldest out of it.
    await inBatches(50, (i) => jobs.create(jobRecord(JOBS + i)));
    expect(await redis.zcard(keys.jobs)).toBe(MAX_LISTED_JOBS);
  });

  it('with a 1 s retention every finished record and log expires; stale listings are trimmed', async () => {
    const keys = new Keys(uniqueName('mem-ttl'));
    prefixes.push(keys.prefix);
    const jobs = new JobStore(redis, keys, 1);
    const builds = new BuildStore(redis, keys, 1, 1);
    await inBatches(300, (i) => runJob(jobs, jobRecord(i)));
    await inBatches(100, (i) => runBuild(builds, keys, redis, i));
    const before = await memoryByKey(redis, keys.prefix);
    expect(before.size).toBeGreaterThan(800);

    await new Promise((r) => setTimeout(r, 2_200));
    const after = await memoryByKey(redis, keys.prefix);
    const records = [...after.keys()].filter((k) => /:(job|build):/.test(k));
    expect(records).toEqual([]);
    expect(sum(after)).toBeLessThan(sum(before) / 10);

    // Listing entries outlive their records only until the retention plus a day's grace has
    // passed: the next submission drops them (here: entries left from two days ago).
    const twoDaysAgo = Date.now() - 2 * 24 * 3600 * 1000;
    await redis.zadd(keys.jobs, twoDaysAgo, 'stale-1', twoDaysAgo + 1, 'stale-2');
    expect(await redis.zcard(keys.jobs)).toBe(302);
    await jobs.create(jobRecord(999_999));
    expect(await redis.zscore(keys.jobs, 'stale-1')).toBeNull();
    expect(await redis.zcard(keys.jobs)).toBe(301);
  });
});
