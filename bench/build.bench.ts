/**
 * Issue 3's figures: a python runtime built warm (base root, package caches and language layer
 * cached), a cached resubmission answered by the API over HTTP, packaging throughput of
 * `packTree` (GNU tar → zstd -3) on the Debian base root, and the artifact size against gzip -6.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { packTree } from '@joblet/artifact';
import { makeTempDir, writeTestKeyPair } from '@joblet/testkit';
import { startTestApi } from '@joblet/api/testing';
import { createWorker, enqueueBuild, readWorkerEnv, waitForEvent } from '@joblet/worker/testing';
import { percentiles, round } from './stats.js';

const exec = promisify(execFile);
const BASE = '/var/cache/joblet-farm/bases/bookworm-amd64/root';

async function warmBuilds(runs: number) {
  const tmp = await makeTempDir('bench-build-');
  await chmod(tmp.path, 0o755);
  const api = await startTestApi(['amd64']);
  const config = readWorkerEnv({
    QUEUE_PREFIX: api.prefix,
    STORAGE_URL: `file://${tmp.path}/store`,
    WORKER_WORK_DIR: `${tmp.path}/work`,
    WORKER_NAME: 'bench-worker',
    LOG_LEVEL: 'error',
    WORKER_SIGNING_KEY_FILE: writeTestKeyPair(join(tmp.path, 'keys')).privateKeyFile,
  });
  const worker = await createWorker(config);
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const spec = `schema_version: "1.0"\nname: bench-py\nversion: 1.0.${i}\nbase:\n  language: python\n  version: "3.11"\napt: [python3-six]\n`;
      const t = performance.now();
      const b = await enqueueBuild(api.redis, api.prefix, spec);
      await waitForEvent(api.redis, api.prefix, b.buildId);
      times.push(performance.now() - t);
    }
  } finally {
    await worker.close({ deadlineMs: 5_000 });
    await api.close();
    await tmp.cleanup();
  }
  return { runs, ...percentiles(times), unit: 'ms, enqueue → done (python 3.11 + an apt package)' };
}

async function cachedResubmit(n: number) {
  const tmp = await makeTempDir('bench-cached-');
  await chmod(tmp.path, 0o755);
  // The API and the worker share the store: the first submission builds, the rest are cached.
  const real = await startTestApiWithStore(`file://${tmp.path}/store`);
  const config = readWorkerEnv({
    QUEUE_PREFIX: real.prefix,
    STORAGE_URL: `file://${tmp.path}/store`,
    WORKER_WORK_DIR: `${tmp.path}/work`,
    WORKER_NAME: 'bench-worker',
    LOG_LEVEL: 'error',
    WORKER_SIGNING_KEY_FILE: writeTestKeyPair(join(tmp.path, 'keys')).privateKeyFile,
  });
  const worker = await createWorker(config);
  const spec = `schema_version: "1.0"\nname: bench-cached\nversion: 1.0.0\nbase:\n  language: python\n  version: "3.11"\n`;
  try {
    const url = await real.app.listen({ host: '127.0.0.1', port: 0 });
    const submit = () =>
      fetch(`${url}/v1/builds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ spec, architectures: ['amd64'] }),
      }).then(async (r) => (await r.json()) as { result: string; build?: { id: string } });
    const first = await submit();
    if (first.build) await waitForEvent(real.redis, real.prefix, first.build.id);
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const r = await submit();
      samples.push(performance.now() - t);
      if (r.result !== 'cached') throw new Error(`expected cached, got ${r.result}`);
    }
    return {
      ...percentiles(samples),
      unit: 'ms, POST /v1/builds → 200 cached, over HTTP on loopback',
    };
  } finally {
    await worker.close({ deadlineMs: 5_000 });
    await real.close();
    await tmp.cleanup();
  }
}

async function startTestApiWithStore(storeUrl: string) {
  const { buildApp } = await import('@joblet/api/testing');
  const { createRedis } = await import('@joblet/queue');
  const { createArtifactStore } = await import('@joblet/storage');
  const { builtinCatalog } = await import('@joblet/spec');
  const { uniqueName } = await import('@joblet/testkit');
  const prefix = uniqueName('bench');
  const redis = createRedis({ url: 'redis://127.0.0.1:6379' });
  const store = createArtifactStore(storeUrl);
  await store.ensureReady();
  const app = await buildApp({
    redis,
    store,
    prefix,
    catalog: builtinCatalog,
    architectures: ['amd64'],
    logger: false,
  });
  return {
    app,
    redis,
    prefix,
    async close() {
      await app.close(); // and the queues it opened
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await store.close();
    },
  };
}

async function packaging(runs: number) {
  if (!existsSync(BASE)) return { skipped: `no cached base root at ${BASE}` };
  const du = await exec('du', ['-sb', '--apparent-size', BASE]);
  const treeBytes = Number(du.stdout.split('\t')[0]);
  const tmp = await makeTempDir('bench-pack-');
  try {
    const times: number[] = [];
    let zstdBytes = 0;
    for (let i = 0; i < runs; i++) {
      const out = join(tmp.path, `r${i}.tar.zst`);
      const t = performance.now();
      // Not normalised: that would change the cached base root (a live build layer) in place.
      const r = await packTree(BASE, out, { normalise: false });
      times.push(performance.now() - t);
      zstdBytes = r.bytes;
    }
    await mkdir(join(tmp.path, 'gz'));
    const t = performance.now();
    await exec(
      'sh',
      [
        '-c',
        `tar -C "$1" --sort=name -cf - . | gzip -6 > "$2"`,
        'sh',
        BASE,
        join(tmp.path, 'gz', 'base.tar.gz'),
      ],
      { maxBuffer: 1 << 20 },
    );
    const gzipMs = performance.now() - t;
    const { stdout } = await exec('stat', ['-c', '%s', join(tmp.path, 'gz', 'base.tar.gz')]);
    const gzipBytes = Number(stdout.trim());
    const p = percentiles(times);
    return {
      treeMB: round(treeBytes / 1e6),
      packTreeMs: p,
      throughputMBps: round(treeBytes / 1e6 / (p.p50 / 1000)),
      zstdMB: round(zstdBytes / 1e6),
      gzip6MB: round(gzipBytes / 1e6),
      gzip6Ms: round(gzipMs),
      zstdVsGzipSize: round(zstdBytes / gzipBytes),
      note: 'packTree includes walking the tree, hashing every file (tree hash) and the archive sha256',
    };
  } finally {
    await tmp.cleanup();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  return {
    warmBuild: await warmBuilds(3),
    cachedResubmit: await cachedResubmit(200),
    packaging: await packaging(3),
  };
}
