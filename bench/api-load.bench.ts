/**
 * API latency under load, on loopback, with autocannon's client in a worker thread (the API runs
 * on the main thread; this machine has two cores): `GET /v1/runtimes` with 20 published runtimes
 * and 4 nodes (a store listing and 20 index reads per request), `GET /v1/dashboard` (one shared
 * answer per second) and `/healthz` for scale; SSE replay — many concurrent
 * `GET /v1/builds/:id/events` of finished builds, each replaying its whole log and ending; and
 * live SSE fan-out — 50 followers of one running build, latency from XADD to each client.
 * Every phase is bounded by a duration and every loop by a count. Figures: latency in ms,
 * requests/s, and events/s for replays.
 */
import http from 'node:http';
import autocannon, { type Result } from 'autocannon';
import { appendEvent } from '@joblet/queue';
import type { BuildMeta } from '@joblet/spec';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '@joblet/api/testing';
import { percentiles, round } from './stats.js';

const DURATION_S = 5;
const RUNTIMES = 20;
const BUILDS = 20;
const LOG_LINES = 200;
const FOLLOWERS = 50;
const LIVE_EVENTS = 100;

function figures(r: Result) {
  return {
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    rps: round(r.requests.average),
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

async function load(
  api: TestApi,
  path: string | string[],
  connections: number,
): Promise<ReturnType<typeof figures>> {
  const paths = [path].flat();
  const r = await autocannon({
    url: api.url!,
    connections,
    duration: DURATION_S,
    workers: 1,
    timeout: 10,
    requests: paths.length > 1 ? paths.map((p) => ({ method: 'GET', path: p })) : undefined,
    ...(paths.length === 1 ? { url: `${api.url}${paths[0]}` } : {}),
  });
  return figures(r);
}

/** A finished build whose stream holds `LOG_LINES` log lines, 11 phases and a `done`. */
async function finishedBuild(api: TestApi, i: number): Promise<string> {
  const id = `20000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const meta: BuildMeta = {
    id,
    name: `bench-${i}`,
    version: '1.0.0',
    submissionKey: `bench-${i}`,
    arches: ['amd64'],
    force: false,
    allowPartial: false,
    createdAt: new Date().toISOString(),
  };
  await api.app.buildStore.create(meta, { amd64: { state: 'succeeded' } });
  const key = api.app.keys.buildEvents(id);
  for (let n = 1; n <= 11; n++) {
    await appendEvent(api.redis, key, {
      type: 'phase',
      arch: 'amd64',
      n,
      total: 11,
      name: `phase ${n}`,
    });
    for (let l = 0; l < LOG_LINES / 11; l++)
      await appendEvent(api.redis, key, {
        type: 'log',
        arch: 'amd64',
        stream: 'stdout',
        line: `Unpacking libpython3.11-stdlib:amd64 (3.11.2-6+deb12u${l}) over (3.11.2-6) ...`,
      });
  }
  await appendEvent(api.redis, key, { type: 'done', state: 'succeeded' });
  await api.app.buildStore.finish(id, 'succeeded');
  return id;
}

/** Opens an SSE stream and calls `onLine` for each data line; resolves once the headers arrived. */
function follow(url: string, onData: (data: string) => void): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) onData(data.slice(6));
        }
      });
      resolve(req);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy());
  });
}

/** 50 followers of a running build; each event carries its send time; latency to every client. */
async function liveFanOut(api: TestApi) {
  const id = await (async () => {
    const meta: BuildMeta = {
      id: '30000000-0000-4000-8000-000000000001',
      name: 'live',
      version: '1.0.0',
      submissionKey: 'live',
      arches: ['amd64'],
      force: false,
      allowPartial: false,
      createdAt: new Date().toISOString(),
    };
    await api.app.buildStore.create(meta, { amd64: { state: 'running' } });
    return meta.id;
  })();
  const samples: number[] = [];
  let done = 0;
  const clients: http.ClientRequest[] = [];
  const allDone = new Promise<void>((resolve) => {
    for (let c = 0; c < FOLLOWERS; c++) {
      void follow(`${api.url}/v1/builds/${id}/events`, (data) => {
        const e = JSON.parse(data) as { type: string; line?: string };
        if (e.type === 'log' && e.line) samples.push(performance.now() - Number(e.line));
        if (e.type === 'done' && ++done === FOLLOWERS) resolve();
      }).then((req) => clients.push(req));
    }
  });
  const deadline = setTimeout(() => undefined, 30_000);
  while (clients.length < FOLLOWERS) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200)); // every follower is blocked in XREAD
  const key = api.app.keys.buildEvents(id);
  for (let i = 0; i < LIVE_EVENTS; i++) {
    await appendEvent(api.redis, key, {
      type: 'log',
      arch: 'amd64',
      stream: 'stdout',
      line: String(performance.now()),
    });
    await new Promise((r) => setTimeout(r, 10));
  }
  await api.app.buildStore.finish(id, 'succeeded');
  await appendEvent(api.redis, key, { type: 'done', state: 'succeeded' });
  await Promise.race([allDone, new Promise((r) => setTimeout(r, 15_000))]);
  clearTimeout(deadline);
  for (const c of clients) c.destroy();
  return {
    followers: FOLLOWERS,
    events: LIVE_EVENTS,
    deliveries: samples.length,
    latencyMs: percentiles(samples),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  // Rate limiting is per client and the local admin (API_AUTH=none) is exempt: the API's own
  // request path is what is measured.
  const api = await startTestApi(['amd64', 'arm64'], { listen: true });
  try {
    for (let i = 0; i < RUNTIMES; i++)
      await publishFakeRuntime(api, `rt-${i % 7}`, `1.${Math.floor(i / 7)}.0`, ['amd64', 'arm64']);
    const installed = Array.from({ length: 7 }, (_, i) => `rt-${i}@1.0.0`);
    for (const [n, arch] of [
      ['node-a1', 'amd64'],
      ['node-a2', 'amd64'],
      ['node-r1', 'arm64'],
      ['node-r2', 'arm64'],
    ] as const)
      await registerNode(api, n, arch, installed);
    const builds: string[] = [];
    for (let i = 0; i < BUILDS; i++) builds.push(await finishedBuild(api, i));
    const eventsPerBuild = 11 + 11 * Math.ceil(LOG_LINES / 11) + 1;

    const healthz = await load(api, '/healthz', 10);
    const runtimes = await load(api, '/v1/runtimes', 10);
    const dashboard = await load(api, '/v1/dashboard', 10);
    // Replays: 50 concurrent streams (under the 200-stream cap), each ending after `done`.
    const replay = await load(
      api,
      builds.map((id) => `/v1/builds/${id}/events`),
      50,
    );
    const live = await liveFanOut(api);
    return {
      setup: {
        runtimes: RUNTIMES,
        nodes: 4,
        durationS: DURATION_S,
        client: 'autocannon, 1 worker thread',
      },
      healthz: { connections: 10, ...healthz },
      listRuntimes: { connections: 10, ...runtimes },
      dashboard: { connections: 10, ...dashboard },
      sseReplay: {
        connections: 50,
        eventsPerStream: eventsPerBuild,
        eventsPerS: Math.round(replay.rps * eventsPerBuild),
        ...replay,
      },
      sseLiveFanOut: live,
    };
  } finally {
    await api.close();
  }
}
