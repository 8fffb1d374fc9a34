/**
 * The farm as a user runs it, for benchmarks: `rnx farm up` (the supervisor starts the API with
 * token auth, the worker and the agent as processes of their own), driven by the real `rnx` for
 * set-up and over the API's HTTP with the admin token `rnx farm up` saved, as `rnx job run` does.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import type { JobRecord, JobRequest } from '@joblet/spec';

const exec = promisify(execFile);
const RNX = fileURLToPath(new URL('../apps/cli/bin/rnx.js', import.meta.url));

export interface BenchFarm {
  url: string;
  token: string;
  dir: string;
  runtimesDir: string;
  tmp: TempDir;
  rnx(args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
  /** Pid of a component `rnx farm up` started (`agent`, `api`, `worker`), from farm.json. */
  pidOf(component: string): Promise<number>;
  down(): Promise<void>;
}

/** `rnx farm up` in a temp state dir with its own port, queue prefix and node name. */
export async function farmUp(env: NodeJS.ProcessEnv = {}): Promise<BenchFarm> {
  const tmp = await makeTempDir('bench-farm-');
  await chmod(tmp.path, 0o755); // sandboxes run as nobody: the runtimes dir must be reachable
  const dir = join(tmp.path, 'farm');
  const runtimesDir = join(tmp.path, 'runtimes');
  await mkdir(runtimesDir, { recursive: true });
  const port = await freePort();
  const prefix = uniqueName('bench');
  const url = `http://127.0.0.1:${port}`;
  const rnx = async (args: string[], timeoutMs = 600_000) =>
    exec(process.execPath, [RNX, ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: tmp.path,
        NO_COLOR: '1',
        RNX_SERVER: url,
        JOBLET_FARM_DIR: dir,
        ...env,
      },
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
  const node = `bench-${prefix
    .slice(-8)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;
  const farm: BenchFarm = {
    url,
    token: '',
    dir,
    runtimesDir,
    tmp,
    rnx,
    async pidOf(component) {
      const state = JSON.parse(await readFile(join(dir, 'farm.json'), 'utf8')) as {
        components: Record<string, { pid?: number }>;
      };
      const pid = state.components[component]?.pid;
      if (!pid) throw new Error(`farm.json names no running ${component}`);
      return pid;
    },
    async down() {
      await rnx(['farm', 'down', '--dir', dir]).catch(() => undefined);
      await tmp.cleanup();
    },
  };
  try {
    await rnx([
      'farm',
      'up',
      '--dir',
      dir,
      '--port',
      String(port),
      '--prefix',
      prefix,
      '--runtimes-dir',
      runtimesDir,
      '--node-name',
      node,
      '--timeout',
      '120',
    ]);
    const config = await readFile(join(tmp.path, '.rnx', 'rnx-config.yml'), 'utf8');
    const token = /token:\s*["']?([^\s"']+)/.exec(config)?.[1];
    if (!token) throw new Error('rnx farm up saved no admin token');
    farm.token = token;
    return farm;
  } catch (err) {
    await farm.down();
    throw err;
  }
}

/** Requests answered 429 (the API's per-token rate limit) and waited out, since the farm came up. */
export const rateLimited = { count: 0 };

/**
 * fetch with the farm's token; a 429 (the API's rate limit, API_RATE_LIMIT_REQUESTS per
 * API_RATE_LIMIT_WINDOW_S) is waited out for its Retry-After and sent again, as a client would.
 */
async function call(farm: BenchFarm, path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const res = await fetch(`${farm.url}${path}`, {
      ...init,
      headers: { ...init.headers, authorization: `Bearer ${farm.token}` },
    });
    if (res.status !== 429) return res;
    rateLimited.count++;
    await res.body?.cancel();
    const waitS = Number(res.headers.get('retry-after') ?? 1);
    await new Promise((r) => setTimeout(r, Math.max(1, waitS) * 1000));
  }
}

/** POST /v1/jobs with the farm's token. */
export async function submit(farm: BenchFarm, body: JobRequest): Promise<JobRecord> {
  const res = await call(farm, '/v1/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`POST /v1/jobs: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobRecord;
}

export async function getJob(farm: BenchFarm, id: string): Promise<JobRecord> {
  const res = await call(farm, `/v1/jobs/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/jobs/${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobRecord;
}

/** Reads the job's SSE log stream until its first output line; returns that line. */
export async function firstLine(farm: BenchFarm, id: string): Promise<string> {
  const abort = new AbortController();
  const res = await fetch(`${farm.url}/v1/jobs/${id}/logs`, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${farm.token}` },
    signal: abort.signal,
  });
  if (res.status !== 200) throw new Error(`GET /v1/jobs/${id}/logs: ${res.status}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`log stream of ${id} ended before any output`);
      buf += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const data = buf
          .slice(0, sep)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        buf = buf.slice(sep + 2);
        if (!data) continue;
        const e = JSON.parse(data) as { type: string; line?: string };
        if (e.type === 'out') return e.line ?? '';
        if (e.type === 'end') throw new Error(`job ${id} ended without output`);
      }
    }
  } finally {
    abort.abort();
  }
}
