/**
 * Farm metrics in real Redis: histograms and counters written by several "processes" add up, the
 * exposition text is what Prometheus parses, and the stores keep their metrics as they work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { BuildMeta, JobRecord } from '@joblet/spec';
import { uniqueName } from '@joblet/testkit';
import { BuildStore } from './build-store.js';
import { createRedis } from './connection.js';
import { JobStore } from './job-store.js';
import { Keys } from './names.js';
import { incrementCounter, observeHistogram, renderRedisMetrics } from './redis-metrics.js';
import { publishRetentionPolicy } from './retention.js';

/** `name{labels} value` lines of an exposition text, as a map. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

const job = (id: string): JobRecord => ({
  id,
  state: 'QUEUED',
  command: 'true',
  args: [],
  runtime: { ref: 'python-3.11', name: 'python-3.11', version: '1.0.0' },
  arch: 'amd64',
  network: 'none',
  limits: {},
  volumes: [],
  env: [],
  uploads: [],
  createdAt: new Date().toISOString(),
});

const meta = (id: string): BuildMeta => ({
  id,
  name: 'rt',
  version: '1.0.0',
  submissionKey: `sub-${id}`,
  arches: ['amd64'],
  force: false,
  allowPartial: false,
  createdAt: new Date().toISOString(),
});

describe('Redis-kept farm metrics', () => {
  let redis: Redis;
  let other: Redis; // a second process (a worker, an agent) writing the same series
  const keys = new Keys(uniqueName('metrics'));
  beforeAll(() => {
    redis = createRedis({ url: 'redis://127.0.0.1:6379' });
    other = createRedis({ url: 'redis://127.0.0.1:6379' });
  });
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
    other.disconnect();
  });

  it('renders histograms with cumulative buckets, sum and count, summed across processes', async () => {
    const phase = { arch: 'amd64', phase: 'aptInstall' };
    await observeHistogram(redis, keys, 'joblet_build_phase_duration_seconds', phase, 0.2);
    await observeHistogram(other, keys, 'joblet_build_phase_duration_seconds', phase, 7);
    await observeHistogram(other, keys, 'joblet_build_phase_duration_seconds', phase, 5000);
    await observeHistogram(redis, keys, 'joblet_build_phase_duration_seconds', phase, -1); // ignored
    await observeHistogram(redis, keys, 'joblet_runtime_sync_duration_seconds', { node: 'n"1' }, 3);
    const text = await renderRedisMetrics(redis, keys);
    const s = samples(text);
    const b = (le: string) =>
      s.get(
        `joblet_build_phase_duration_seconds_bucket{arch="amd64",phase="aptInstall",le="${le}"}`,
      );
    expect(b('0.1')).toBe(0);
    expect(b('0.25')).toBe(1);
    expect(b('10')).toBe(2);
    expect(b('3600')).toBe(2);
    expect(b('+Inf')).toBe(3);
    expect(
      s.get('joblet_build_phase_duration_seconds_count{arch="amd64",phase="aptInstall"}'),
    ).toBe(3);
    expect(
      s.get('joblet_build_phase_duration_seconds_sum{arch="amd64",phase="aptInstall"}'),
    ).toBeCloseTo(5007.2);
    // Label values are escaped as the exposition format wants.
    expect(s.get('joblet_runtime_sync_duration_seconds_count{node="n\\"1"}')).toBe(1);
    expect(text).toContain('# TYPE joblet_build_phase_duration_seconds histogram');
  });

  it('renders counters, an unlabelled one as 0 before its first increment', async () => {
    expect(
      samples(await renderRedisMetrics(redis, keys)).get('joblet_build_cache_hits_total'),
    ).toBe(0);
    await incrementCounter(redis, keys, 'joblet_build_cache_hits_total', {});
    await incrementCounter(other, keys, 'joblet_build_cache_hits_total', {}, 2);
    await incrementCounter(redis, keys, 'joblet_runtime_sync_failures_total', { node: 'n1' });
    const s = samples(await renderRedisMetrics(redis, keys));
    expect(s.get('joblet_build_cache_hits_total')).toBe(3);
    expect(s.get('joblet_runtime_sync_failures_total{node="n1"}')).toBe(1);
  });

  it('JobStore keeps jobs per live state, finished jobs per state and the start latency', async () => {
    const store = new JobStore(redis, keys, 60);
    for (const id of ['a', 'b', 'c']) await store.create(job(id));
    await store.transition('a', 'INITIALIZING', { node: 'n1' });
    await store.transition('a', 'RUNNING', { startLatencyMs: 40 });
    await store.transition('a', 'RUNNING', { startLatencyMs: 40 }); // same state: no change
    await store.transition('b', 'INITIALIZING', { node: 'n1' });
    await store.transition('b', 'RUNNING', { startLatencyMs: 2500 });
    await store.transition('b', 'COMPLETED', { exitCode: 0 });
    await store.transition('c', 'CANCELED');
    expect(await store.transition('c', 'RUNNING')).toBeUndefined(); // refused: no count moves
    const s = samples(await renderRedisMetrics(redis, keys));
    expect(s.get('joblet_jobs{state="QUEUED"}')).toBe(0);
    expect(s.get('joblet_jobs{state="RUNNING"}')).toBe(1);
    expect(s.get('joblet_jobs{state="INITIALIZING"}')).toBe(0);
    expect(s.get('joblet_jobs_finished_total{state="COMPLETED"}')).toBe(1);
    expect(s.get('joblet_jobs_finished_total{state="CANCELED"}')).toBe(1);
    expect(s.get('joblet_job_start_latency_seconds_bucket{le="0.05"}')).toBe(1);
    expect(s.get('joblet_job_start_latency_seconds_bucket{le="5"}')).toBe(2);
    expect(s.get('joblet_job_start_latency_seconds_count')).toBe(2);
  });

  it('BuildStore counts each finished build once, and keeps failed ones by the failed retention', async () => {
    const k = new Keys(`${keys.prefix}-b`);
    const store = new BuildStore(redis, k, 100, 300);
    await store.create(meta('b1'), { amd64: { state: 'queued' } });
    await store.create(meta('b2'), { amd64: { state: 'queued' } });
    await store.finish('b1', 'succeeded');
    await new BuildStore(other, k).finish('b1', 'canceled'); // a racing finisher: already final
    await store.finish('b2', 'failed', { code: 'HOOK_FAILED', message: 'exit 1' });
    const s = samples(await renderRedisMetrics(redis, k));
    expect(s.get('joblet_builds_total{arch="amd64",result="succeeded"}')).toBe(1);
    expect(s.get('joblet_builds_total{arch="amd64",result="failed"}')).toBe(1);
    expect(s.get('joblet_builds_total{arch="amd64",result="canceled"}')).toBeUndefined();
    expect(await redis.ttl(k.build('b1'))).toBeLessThanOrEqual(100);
    expect(await redis.ttl(k.build('b2'))).toBeGreaterThan(100);
    const left = await redis.keys(`${k.prefix}:*`);
    if (left.length) await redis.del(...left);
  });

  it('BuildStore counts a multi-arch build once per arch, with each arch’s own result', async () => {
    const k = new Keys(`${keys.prefix}-m`);
    const store = new BuildStore(redis, k);
    await store.create(
      { ...meta('m1'), arches: ['amd64', 'arm64'] },
      { amd64: { state: 'succeeded' }, arm64: { state: 'failed' } },
    );
    await store.finish('m1', 'failed');
    const s = samples(await renderRedisMetrics(redis, k));
    expect(s.get('joblet_builds_total{arch="amd64",result="succeeded"}')).toBe(1);
    expect(s.get('joblet_builds_total{arch="arm64",result="failed"}')).toBe(1);
    expect(s.get('joblet_builds_total{arch="amd64",result="failed"}')).toBeUndefined();
    const left = await redis.keys(`${k.prefix}:*`);
    if (left.length) await redis.del(...left);
  });

  it('a published retention policy wins over the constructor’s values, in every process', async () => {
    const k = new Keys(`${keys.prefix}-r`);
    await publishRetentionPolicy(redis, k, { buildS: 50, failedBuildS: 70, jobS: 30 });
    const jobs = new JobStore(other, k); // a default agent-side store: 7 days unless published
    await jobs.create(job('r1'));
    await jobs.transition('r1', 'CANCELED');
    const ttl = await redis.ttl(k.job('r1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
    expect(await redis.ttl(k.jobEvents('r1'))).toBeLessThanOrEqual(30);
    const builds = new BuildStore(other, k);
    await builds.create(meta('rb'), { amd64: { state: 'queued' } });
    await builds.finish('rb', 'failed');
    expect(await redis.ttl(k.build('rb'))).toBeLessThanOrEqual(70);
    expect(await redis.ttl(k.build('rb'))).toBeGreaterThan(50);
    const left = await redis.keys(`${k.prefix}:*`);
    if (left.length) await redis.del(...left);
  });
});
