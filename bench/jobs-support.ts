/**
 * Helpers of the jobs benchmark (jobs.bench.ts): submitting and following jobs through the API,
 * the trees it runs them in, and the agent as its own process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeDebianTree, x, type TreeOptions, type World } from '@joblet/agent/testing';
import { type TestApi } from '@joblet/api/testing';
import type { JobStore } from '@joblet/queue';

import { FINAL_JOB_STATES, type JobRecord, type JobRequest, type RuntimeYml } from '@joblet/spec';

/** Jobs the benchmark's agent admits at once (AGENT_CAPACITY). */
export const CAPACITY = 32;
const here = dirname(fileURLToPath(import.meta.url));

export async function post(api: TestApi, body: JobRequest): Promise<JobRecord> {
  const res = await fetch(`${api.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`POST /v1/jobs: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobRecord;
}

/** Reads the job's SSE log stream until `until` accepts an event; returns that event. */
export async function follow(
  api: TestApi,
  id: string,
  until: (e: { type: string; line?: string }) => boolean,
): Promise<{ type: string; line?: string }> {
  const abort = new AbortController();
  const res = await fetch(`${api.url}/v1/jobs/${id}/logs`, {
    headers: { accept: 'text/event-stream' },
    signal: abort.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`log stream of ${id} ended early`);
      buf += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        if (!data) continue;
        const e = JSON.parse(data) as { type: string; line?: string };
        if (until(e)) return e;
      }
    }
  } finally {
    abort.abort();
  }
}

export async function waitFinal(
  store: JobStore,
  ids: string[],
  timeoutMs = 300_000,
): Promise<void> {
  const pending = new Set(ids);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.size} jobs did not end`);
    for (const id of [...pending]) {
      const r = await store.get(id);
      if (r && FINAL_JOB_STATES.includes(r.state)) pending.delete(id);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `fn` over `items` with `n` at a time. */
export async function pool<T>(
  items: T[],
  n: number,
  fn: (t: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export function spawnWait(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve());
  });
}

/** The Debian runtime plus the host's Python 3.11 standard library and pip. */
export function makePythonTree(dir: string, o: TreeOptions): RuntimeYml {
  const yml = makeDebianTree(dir, o);
  const iso = join(dir, 'isolated');
  x('cp', ['-al', '/usr/lib/python3.11', join(iso, 'usr/lib/python3.11')]);
  mkdirSync(join(iso, 'usr/lib/python3/dist-packages'), { recursive: true });
  x('cp', [
    '-al',
    '/usr/lib/python3/dist-packages/pip',
    join(iso, 'usr/lib/python3/dist-packages/pip'),
  ]);
  return yml;
}

/** The package to compare with: numpy's wheel when this machine has one, else setuptools'. */
export function pickWheel(): { file: string; module: string; script: string } {
  const dir = '/opt/pypi-more/files';
  const numpy = existsSync(dir)
    ? readdirSync(dir).find((f) => /^numpy-1\.26\.\d+-cp311-.*manylinux.*x86_64\.whl$/.test(f))
    : undefined;
  if (numpy) {
    return {
      file: join(dir, numpy),
      module: 'numpy',
      script:
        'import numpy as np; a = np.arange(1_000_000, dtype=np.float64); print(np.__version__, float(a.sum()))',
    };
  }
  return {
    file: '/usr/share/python-wheels/setuptools-66.1.1-py3-none-any.whl',
    module: 'setuptools',
    script: 'import setuptools; print(setuptools.__version__)',
  };
}

export async function runToEnd(
  api: TestApi,
  store: JobStore,
  body: JobRequest,
): Promise<{ ms: number; rec: JobRecord }> {
  const t = performance.now();
  const job = await post(api, body);
  await follow(api, job.id, (e) => e.type === 'end');
  const ms = performance.now() - t;
  const rec = (await store.get(job.id))!;
  if (rec.state !== 'COMPLETED')
    throw new Error(`${body.command} ended ${rec.state}: ${rec.message}`);
  return { ms, rec };
}

/** The built agent as its own process, with the flags of `npm start` in apps/agent. */
export function startAgentProcess(w: World, prefix: string, storageUrl: string): ChildProcess {
  const agentDir = join(here, '../apps/agent');
  execFileSync(process.execPath, ['../../scripts/build-app.mjs'], { cwd: agentDir });
  const cfg = w.config('bench-proc');
  const flags = (process.env.BENCH_AGENT_NODE_FLAGS ?? '--lite-mode --max-semi-space-size=1')
    .split(' ')
    .filter(Boolean);
  return spawn(process.execPath, [...flags, join(agentDir, 'dist/index.js')], {
    env: {
      PATH: process.env.PATH,
      MALLOC_MMAP_THRESHOLD_: '65536',
      AGENT_NAME: 'bench-proc',
      AGENT_ARCH: 'amd64',
      AGENT_CAPACITY: String(CAPACITY),
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: prefix,
      STORAGE_URL: storageUrl,
      RUNTIMES_DIR: cfg.runtimesDir,
      AGENT_WORK_DIR: cfg.workDir,
      AGENT_VOLUMES_DIR: `${cfg.workDir}-volumes`,
      AGENT_MIN_FREE_MB: '0',
      AGENT_TRUSTED_KEYS: w.trustedKeyFile,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
