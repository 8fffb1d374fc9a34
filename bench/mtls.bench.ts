/**
 * The cost of mTLS on request latency: the same API over plain HTTP (API_AUTH=none) and over
 * HTTPS with client certificates (API_AUTH=mtls), side by side in one run, on keep-alive
 * connections and with a new connection (a full TLS handshake) per request. Routes: `GET /healthz`
 * (public: no auth work), `GET /v1/runtimes` (a reader route) and the job submit path
 * (`POST /v1/jobs` with a published runtime and an online node). `mtls` has the Redis rate
 * limiter off, so it shows TLS and certificate cost alone; `mtls+limit` is the default
 * production path (one Redis round trip more); `token` is a bearer token over HTTPS without a
 * client certificate (one Redis read more). Figures are milliseconds per request, sequential.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import {
  AuthKeys,
  makeTestPki,
  publishFakeRuntime,
  registerNode,
  startTestApi,
  TokenService,
  type TestApi,
  type TestPki,
} from '@joblet/api/testing';
import type { SecurityOptions } from '@joblet/api/testing';
import { percentiles, round } from './stats.js';

const OFF = { requests: 0, windowS: 10 };
const LIMIT = { requests: 1_000_000, windowS: 10 };

type Mode = 'keepAlive' | 'newConnection' | 'newConnectionResumed';

interface Variant {
  name: string;
  api: TestApi;
  agent: (mode: Mode) => http.Agent;
  headers: Record<string, string>;
}

function call(
  v: Variant,
  agent: http.Agent,
  method: string,
  path: string,
  body?: string,
): Promise<number> {
  const lib = v.api.url!.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      `${v.api.url}${path}`,
      {
        method,
        agent,
        headers: {
          ...v.headers,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Times `n` rounds after `warmup`; each round calls every variant once, in a rotating order, so
 * that drift (JIT, Redis, the other core) falls on all of them alike.
 */
async function sideBySide(
  fns: Record<string, () => Promise<unknown>>,
  n: number,
  warmup: number,
): Promise<Record<string, ReturnType<typeof percentiles>>> {
  const names = Object.keys(fns);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < warmup + n; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length]!;
      const t = process.hrtime.bigint();
      await fns[name]!();
      if (i >= warmup) samples[name]!.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  return Object.fromEntries(names.map((k) => [k, percentiles(samples[k]!)]));
}

const JOB = JSON.stringify({ command: 'true', runtime: 'python-3.11' });
const ROUTES = [
  { name: 'healthz', method: 'GET', path: '/healthz', want: 200 },
  { name: 'listRuntimes', method: 'GET', path: '/v1/runtimes', want: 200 },
  { name: 'jobSubmit', method: 'POST', path: '/v1/jobs', want: 202, body: JOB },
] as const;

async function variant(
  pki: TestPki,
  name: string,
  security: Partial<SecurityOptions>,
  headers: Record<string, string> = {},
): Promise<Variant> {
  const api = await startTestApi(['amd64'], { listen: true, security });
  await publishFakeRuntime(api, 'python-3.11', '1.0.0', ['amd64']);
  await registerNode(api, 'node-a', 'amd64', ['python-3.11@1.0.0']);
  const tls = Boolean(security.tls);
  // Without keep-alive, `resume` lets the agent reuse TLS sessions (an abbreviated handshake);
  // otherwise every connection makes a full one, as each new `rnx` process does.
  const agent = (mode: Mode) =>
    tls
      ? pki.agent(security.mode === 'token' ? undefined : pki.clients.admin, {
          keepAlive: mode === 'keepAlive',
          maxCachedSessions: mode === 'newConnectionResumed' ? 100 : 0,
        })
      : new http.Agent({ keepAlive: mode === 'keepAlive' });
  return { name, api, agent, headers };
}

export async function run(): Promise<Record<string, unknown>> {
  const pki = await makeTestPki();
  const server = {
    cert: readFileSync(pki.server.cert),
    key: readFileSync(pki.server.key),
    ca: readFileSync(pki.ca.cert),
  };
  const tls = (requireClientCert: boolean) => ({ ...server, requireClientCert });
  const variants: Variant[] = [];
  const results: Record<string, Record<string, Record<string, unknown>>> = {};
  // Keep the node online (its heartbeat fresh) for the job submit path, as its agent would.
  const heartbeat = setInterval(() => {
    for (const v of variants) void registerNode(v.api, 'node-a', 'amd64', ['python-3.11@1.0.0']);
  }, 5_000);
  try {
    variants.push(await variant(pki, 'plain', { mode: 'none', rateLimit: OFF }));
    variants.push(await variant(pki, 'mtls', { mode: 'mtls', tls: tls(true), rateLimit: OFF }));
    variants.push(
      await variant(pki, 'mtls+limit', { mode: 'mtls', tls: tls(true), rateLimit: LIMIT }),
    );
    const tokenApi = await variant(pki, 'token', {
      mode: 'token',
      tls: tls(false),
      rateLimit: LIMIT,
    });
    variants.push(tokenApi);
    // The token API takes no certificates: its admin token is made as `index.js create-token` does.
    const svc = new TokenService(tokenApi.api.redis, new AuthKeys(tokenApi.api.prefix));
    const tok = await svc.create(
      { role: 'admin', ttl: '1d' },
      { kind: 'local', subject: 'bench', role: 'admin' },
    );
    tokenApi.headers = { authorization: `Bearer ${tok.token}` };

    for (const [mode, n, warmup] of [
      ['keepAlive', 2000, 200],
      ['newConnection', 300, 30],
      ['newConnectionResumed', 300, 30],
    ] as const) {
      results[mode] = {};
      for (const r of ROUTES) {
        const body = 'body' in r ? r.body : undefined;
        const agents = variants.map((v) => v.agent(mode));
        const fns: Record<string, () => Promise<unknown>> = {};
        for (const [i, v] of variants.entries()) {
          const status = await call(v, agents[i]!, r.method, r.path, body);
          if (status !== r.want) throw new Error(`${v.name} ${r.path}: ${status}`);
          fns[v.name] = () => call(v, agents[i]!, r.method, r.path, body);
        }
        const row: Record<string, unknown> = await sideBySide(fns, n, warmup);
        for (const a of agents) a.destroy();
        const p50 = (k: string) => (row[k] as { p50: number }).p50;
        row.mtlsOverheadP50Ms = round(p50('mtls') - p50('plain'));
        row.mtlsWithLimitOverheadP50Ms = round(p50('mtls+limit') - p50('plain'));
        row.ratioP50 = Math.round((p50('mtls') / p50('plain')) * 100) / 100;
        results[mode][r.name] = row;
      }
    }
  } finally {
    clearInterval(heartbeat);
    for (const v of variants) await v.api.close();
    await pki.cleanup();
  }
  return {
    targets: { mtlsOverheadP50Ms: 2 },
    setup: 'TLS 1.3, EC P-256 keys (rnx admin certs init); client and server in one process',
    ...results,
  };
}
