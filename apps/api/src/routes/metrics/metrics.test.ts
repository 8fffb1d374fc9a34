/**
 * `/metrics` scraped after the farm did things — a queued build, a cache hit, finished builds and
 * jobs, phase and sync observations from "workers" and "agents", published runtimes, nodes with
 * installs in several states — checked by metric name, labels and value, as Prometheus would
 * read them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import {
  builtinCatalog,
  computeBuildKey,
  findCatalogEntry,
  validateRuntimeSpec,
  type JobRecord,
} from '@joblet/spec';
import {
  BUILDER_VERSION,
  Keys,
  incrementCounter,
  observeHistogram,
  reportWorkerStatus,
} from '@joblet/queue';
import { TEST_REDIS_PASSWORD, startRestartableRedis } from '@joblet/testkit';
import { indexKey } from '@joblet/storage';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

const SPEC = readFileSync(
  new URL('../../../../../examples/python-3.11/runtime.yaml', import.meta.url),
  'utf8',
);

/** Exposition text → samples keyed `name{labels}` (labels as written), plus the TYPE lines. */
function parse(text: string) {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
    } else if (line && !line.startsWith('#')) {
      // Every sample line is `name{labels} value` or `name value`.
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/);
      const cut = line.lastIndexOf(' ');
      samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
    }
  }
  return { samples, types };
}

describe('/metrics', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64']);
  });
  afterAll(() => t.close());

  it('exposes farm and API metrics with their labels', async () => {
    const keys = new Keys(t.prefix);
    // A queued build (amd64 only), and a submission answered from cache.
    const queued = await t.app.inject({
      method: 'POST',
      url: '/v1/builds',
      payload: { spec: SPEC, architectures: ['amd64'] },
    });
    expect(queued.statusCode).toBe(202);
    const spec = SPEC.replace('version: 1.0.0', 'version: 3.0.0');
    await publishFakeRuntime(t, 'python-3.11', '3.0.0', ['amd64']);
    const entry = (await t.store.getJson<{ arches: { amd64: Record<string, unknown> } }>(
      indexKey('python-3.11', '3.0.0'),
    ))!;
    const buildKey = computeBuildKey({
      spec: validateRuntimeSpec(spec).spec!,
      arch: 'amd64',
      catalogEntry: findCatalogEntry(builtinCatalog, 'python', '3.11')!,
      builderVersion: BUILDER_VERSION,
    });
    const amd = entry.arches.amd64;
    await t.store.putJson(indexKey('python-3.11', '3.0.0'), {
      ...entry,
      arches: { amd64: { ...amd, buildKey } },
    });
    const cached = await t.app.inject({
      method: 'POST',
      url: '/v1/builds',
      payload: { spec, architectures: ['amd64'] },
    });
    expect(cached.json().result).toBe('cached');
    // A finished build, as the publisher finishes one.
    const b = queued.json().build;
    await t.app.buildStore.finish(b.id, 'succeeded');
    // What workers and agents record.
    await observeHistogram(
      t.redis,
      keys,
      'joblet_build_phase_duration_seconds',
      { arch: 'amd64', phase: 'aptInstall' },
      8,
    );
    await observeHistogram(
      t.redis,
      keys,
      'joblet_runtime_sync_duration_seconds',
      { node: 'node-a' },
      1.5,
    );
    await incrementCounter(t.redis, keys, 'joblet_runtime_sync_failures_total', { node: 'node-b' });
    // Jobs: one running (started after 30 ms), one queued.
    const job = (id: string): JobRecord => ({
      id,
      state: 'QUEUED',
      command: 'true',
      args: [],
      runtime: { ref: 'x', name: 'x', version: '1.0.0' },
      arch: 'amd64',
      network: 'none',
      limits: {},
      volumes: [],
      env: [],
      uploads: [],
      createdAt: new Date().toISOString(),
    });
    const jobs = t.app.jobs.jobs;
    await jobs.create(job('j1'));
    await jobs.create(job('j2'));
    await jobs.transition('j1', 'INITIALIZING', { node: 'node-a' });
    await jobs.transition('j1', 'RUNNING', { startLatencyMs: 30 });
    // Published runtimes and nodes reporting installs.
    await publishFakeRuntime(t, 'node-20', '1.0.0', ['amd64', 'arm64'], 'node', '20');
    await registerNode(t, 'node-a', 'amd64', ['python-3.11@3.0.0', 'node-20@1.0.0']);
    await registerNode(t, 'node-b', 'arm64', []);
    await t.redis.hset(
      t.app.keys.nodeRuntimes('node-b'),
      'node-20@1.0.0',
      JSON.stringify({
        name: 'node-20',
        version: '1.0.0',
        arch: 'arm64',
        state: 'failed',
        error: 'disk full',
        updatedAt: new Date().toISOString(),
      }),
    );
    // A live worker's disk report, and one of a worker gone for minutes (dropped from the hash).
    const disk = (free: number) => ({ freeBytes: free, totalBytes: 100e9 });
    await reportWorkerStatus(t.redis, keys, {
      name: 'w-amd64',
      arch: 'amd64',
      updatedAt: new Date().toISOString(),
      disks: { cache: disk(7e9), work: disk(9e9) },
    });
    await reportWorkerStatus(t.redis, keys, {
      name: 'w-gone',
      arch: 'arm64',
      updatedAt: new Date(Date.now() - 3_600_000).toISOString(),
      disks: { cache: disk(1), work: disk(1) },
    });
    // A request whose route has an id in its path.
    await t.app.inject({ method: 'GET', url: `/v1/builds/${b.id}` });

    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples: s, types } = parse(res.body);

    // The record is finished, but no worker took the BullMQ job: it still waits in the queue.
    expect(s.get('joblet_build_queue_waiting{arch="amd64"}')).toBe(1);
    expect(s.get('joblet_build_queue_waiting{arch="arm64"}')).toBe(0);
    expect(s.get('joblet_build_queue_active{arch="amd64"}')).toBe(0);
    expect(s.get('joblet_build_workers{arch="amd64"}')).toBe(0);
    expect(s.has('joblet_build_queue_oldest_waiting_seconds{arch="arm64"}')).toBe(true);
    expect(s.get('joblet_builds_total{arch="amd64",result="succeeded"}')).toBe(1);
    expect(s.get('joblet_build_cache_hits_total')).toBe(1);
    expect(
      s.get('joblet_build_phase_duration_seconds_bucket{arch="amd64",phase="aptInstall",le="10"}'),
    ).toBe(1);
    expect(s.get('joblet_runtime_sync_duration_seconds_count{node="node-a"}')).toBe(1);
    expect(s.get('joblet_runtime_sync_failures_total{node="node-b"}')).toBe(1);
    expect(s.get('joblet_runtime_installs{node="node-a",state="installed"}')).toBe(2);
    expect(s.get('joblet_runtime_installs{node="node-b",state="failed"}')).toBe(1);
    expect(s.get('joblet_node_up{node="node-a",arch="amd64"}')).toBe(1);
    expect(s.get('joblet_node_disk_free_bytes{node="node-a"}')).toBe(10e9);
    expect(s.get('joblet_worker_disk_free_bytes{worker="w-amd64",arch="amd64",dir="cache"}')).toBe(
      7e9,
    );
    expect(s.get('joblet_worker_disk_free_bytes{worker="w-amd64",arch="amd64",dir="work"}')).toBe(
      9e9,
    );
    expect([...s.keys()].some((k) => k.includes('w-gone'))).toBe(false);
    expect(await t.redis.hexists(keys.workers, 'w-gone')).toBe(0);
    expect(s.get('joblet_redis_up')).toBe(1);
    expect(s.get('joblet_jobs{state="RUNNING"}')).toBe(1);
    expect(s.get('joblet_jobs{state="QUEUED"}')).toBe(1);
    expect(s.get('joblet_job_start_latency_seconds_bucket{le="0.05"}')).toBe(1);
    // Index sizes: python-3.11@3.0.0 (amd64) + node-20@1.0.0 (amd64, arm64), 41 MB each.
    expect(s.get('joblet_artifact_stored_bytes')).toBe(3 * 41_000_000);
    // Request latency by route pattern, never by raw URL.
    expect(
      s.get(
        'joblet_api_request_duration_seconds_count{method="GET",route="/v1/builds/:id",status="200"}',
      ),
    ).toBe(1);
    expect([...s.keys()].some((k) => k.includes(b.id))).toBe(false);
    expect(s.has('process_cpu_user_seconds_total')).toBe(true);
    expect(types.get('joblet_build_phase_duration_seconds')).toBe('histogram');
    expect(types.get('joblet_builds_total')).toBe('counter');
    expect(types.get('joblet_jobs')).toBe('gauge');
    // No metric family is declared twice (Prometheus would refuse the scrape).
    const declared = res.body.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(declared).size).toBe(declared.length);
  });

  it('counts a queued build in the per-arch backlog with its age', async () => {
    const spec = SPEC.replace('version: 1.0.0', 'version: 1.5.0');
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/builds',
      payload: { spec, architectures: ['arm64'] },
    });
    expect(res.statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 1_100)); // past the one-second scrape cache
    const { samples: s } = parse((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(s.get('joblet_build_queue_waiting{arch="arm64"}')).toBe(1);
    expect(s.get('joblet_build_queue_oldest_waiting_seconds{arch="arm64"}')).toBeGreaterThan(0.5);
  });
});

describe('/metrics with Redis down', () => {
  it('still answers 200 with this process’s series and joblet_redis_up 0; 1 once it is back', async () => {
    const server = await startRestartableRedis();
    const t = await startTestApi(['amd64'], {
      redis: { url: `redis://127.0.0.1:${server.port}`, password: TEST_REDIS_PASSWORD },
    });
    try {
      await server.kill();
      await delay(1_100); // past the one-second scrape cache
      const down = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(down.statusCode).toBe(200);
      const { samples: s } = parse(down.body);
      expect(s.get('joblet_redis_up')).toBe(0);
      expect(s.has('process_cpu_user_seconds_total')).toBe(true);
      expect([...s.keys()].some((k) => k.startsWith('joblet_build_queue_waiting'))).toBe(false);
      // Back on the same port: the farm's series return with the next scrape.
      await server.start();
      await vi.waitFor(
        async () => {
          const up = parse((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
          expect(up.samples.get('joblet_redis_up')).toBe(1);
          expect(up.samples.has('joblet_build_queue_waiting{arch="amd64"}')).toBe(true);
        },
        { timeout: 30_000, interval: 500 },
      );
    } finally {
      await t.close();
      await server.stop();
    }
  }, 60_000);
});
