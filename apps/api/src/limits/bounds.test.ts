/**
 * Request bounds against a real listening API (API_AUTH=token on loopback HTTP): open SSE streams
 * per client and overall, requests per client per window, failed authentications per address,
 * and bodies that are never read without credentials.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '@joblet/spec';
import { AuthKeys } from '../auth/auth-keys.js';
import { TokenService } from '../services/token-service.js';
import { startTestApi, type TestApi } from '../testing.js';
import { request } from '../testing-pki.js';

const SPEC = readFileSync(
  new URL('../../../../examples/python-3.11/runtime.yaml', import.meta.url),
  'utf8',
);

let t: TestApi;
let tokens: TokenService;
const open: http.ClientRequest[] = [];

async function token(role: Role, name: string): Promise<string> {
  const local = { kind: 'local' as const, subject: 'test', role: 'admin' as const };
  return (await tokens.create({ role, ttl: '1h', name }, local)).token;
}

/** Opens an SSE stream; resolves with its status once the head (and first bytes) arrived. */
function stream(
  path: string,
  tok: string,
): Promise<{ status: number; body: string; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${t.url}${path}`,
      { headers: { authorization: `Bearer ${tok}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (res.statusCode === 200) resolve({ status: 200, body, req });
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, req }));
        res.on('error', () => undefined);
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    open.push(req);
  });
}

beforeAll(async () => {
  t = await startTestApi(['amd64'], {
    listen: true,
    security: {
      mode: 'token',
      rateLimit: { requests: 8, windowS: 10 },
      streams: { max: 3, perClient: 2 },
    },
  });
  tokens = new TokenService(t.redis, new AuthKeys(t.prefix));
});
afterAll(async () => {
  for (const r of open) r.destroy();
  await t.close();
});

describe('request bounds', () => {
  it('429 beyond the open SSE streams allowed per client and overall; a closed stream frees its slot', async () => {
    const admin = await token('admin', 'admin');
    const submitted = await request(`${t.url}/v1/builds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: { spec: SPEC, architectures: ['amd64'] },
    });
    expect(submitted.status).toBe(202);
    const path = `/v1/builds/${JSON.parse(submitted.body).build.id}/events`;
    const [a, b, c] = [
      await token('reader', 'a'),
      await token('reader', 'b'),
      await token('reader', 'c'),
    ];

    const a1 = await stream(path, a);
    const a2 = await stream(path, a);
    expect([a1.status, a2.status]).toEqual([200, 200]);
    expect(a1.body).toContain(': stream start');
    const a3 = await stream(path, a);
    expect(a3.status).toBe(429);
    expect(JSON.parse(a3.body)).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/^token:\w+ has 2 open event streams, the limit per client/),
    });

    expect((await stream(path, b)).status).toBe(200); // the third stream overall
    const c1 = await stream(path, c);
    expect(c1.status).toBe(429);
    expect(JSON.parse(c1.body).message).toMatch(/the server has 3 open event streams, its limit/);
    expect(t.app.streamSlots.open).toBe(3);

    a1.req.destroy();
    await expect.poll(() => t.app.streamSlots.open, { timeout: 5000 }).toBe(2);
    expect((await stream(path, c)).status).toBe(200);
  });

  it('429 with Retry-After on a burst of requests from one client; other clients unaffected', async () => {
    const d = await token('reader', 'd');
    const e = await token('reader', 'e');
    const burst = await Promise.all(
      Array.from({ length: 30 }, () =>
        request(`${t.url}/v1/runtimes`, { headers: { authorization: `Bearer ${d}` } }),
      ),
    );
    const ok = burst.filter((r) => r.status === 200).length;
    const limited = burst.filter((r) => r.status === 429);
    // 8 per window; a burst straddling a window boundary may get two windows' worth.
    expect(ok).toBeGreaterThanOrEqual(8);
    expect(ok).toBeLessThanOrEqual(16);
    expect(ok + limited.length).toBe(30);
    const first = limited[0]!;
    expect(JSON.parse(first.body)).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringMatching(
        /^too many requests from token:\w+: the limit is 8 per 10s; retry in \d+s$/,
      ),
    });
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(first.headers['retry-after'])).toBeLessThanOrEqual(10);
    // The standard headers (as @fastify/rate-limit sends them) on every counted answer.
    expect(first.headers).toMatchObject({ 'ratelimit-limit': '8', 'ratelimit-remaining': '0' });
    expect(first.headers['ratelimit-reset']).toBe(first.headers['retry-after']);
    const remaining = burst
      .filter((r) => r.status === 200)
      .map((r) => Number(r.headers['ratelimit-remaining']));
    expect(Math.min(...remaining)).toBe(0);
    expect(Math.max(...remaining)).toBeLessThanOrEqual(7);
    const other = await request(`${t.url}/v1/runtimes`, {
      headers: { authorization: `Bearer ${e}` },
    });
    expect(other.status).toBe(200);
  });

  it('never reads a body before authenticating; bounds bodies after', async () => {
    const big = { spec: 'x'.repeat(2 * 1024 * 1024) };
    const anon = await request(`${t.url}/v1/builds`, { method: 'POST', body: big }).catch(
      (err: NodeJS.ErrnoException) => ({ status: err.code }),
    );
    // Answered 401 before the body was read; the server may close the socket mid-upload.
    expect([401, 'ECONNRESET', 'EPIPE']).toContain(anon.status);
    const admin = await token('admin', 'admin2');
    const tooBig = await request(`${t.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: { role: 'reader', name: 'x'.repeat(8 * 1024) },
    });
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.body).code).toBe('PAYLOAD_TOO_LARGE');
  });
  it('failed authentications are limited per source address: 401s, then 429', async () => {
    const guesses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        request(`${t.url}/v1/runtimes`, {
          headers: { authorization: `Bearer jrf_${'0'.repeat(12)}_${String(i).padStart(43, 'x')}` },
        }),
      ),
    );
    const statuses = new Set(guesses.map((g) => g.status));
    expect([...statuses].sort()).toEqual([401, 429]);
    expect(JSON.parse(guesses.find((g) => g.status === 401)!.body).message).toBe(
      'invalid or expired token',
    );
  });
});
