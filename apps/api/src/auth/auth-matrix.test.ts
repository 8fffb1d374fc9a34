/**
 * The role × route matrix, over real HTTPS with real certificates (openssl, via the code of
 * `rnx admin certs init`): for every route the app declares — so a new route is covered the
 * moment it exists — no credentials, each role's client certificate, each role's token, a
 * revoked and an expired token; and certificates the TLS layer must refuse.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import tls from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleSatisfies, type Role } from '@joblet/spec';
import { issueLeaf, type KeyPair } from '@joblet/pki';
import { startTestApi, type TestApi } from '../testing.js';
import { makeTestPki, request, type RawResponse, type TestPki } from '../testing-pki.js';
import { AuthKeys } from './auth-keys.js';
import { TokenService } from '../services/token-service.js';
import { forbiddenMessage, routeVerb } from './verbs.js';
import type { RouteRole } from '../plugins/roles.js';

const BOUNDS = { rateLimit: { requests: 100_000, windowS: 10 } };
const DAY = 24 * 3600 * 1000;

/** A concrete URL for a route pattern: ids that exist nowhere, so nothing is changed. */
function concrete(url: string): string {
  return url
    .replace(
      ':id',
      url.startsWith('/v1/tokens') ? 'aaaaaaaaaaaa' : '00000000-0000-4000-8000-000000000000',
    )
    .replace(':ref', 'nope@1.0.0')
    .replace(/:[a-zA-Z]+/g, 'x1');
}

interface Route {
  method: string;
  url: string;
  role: RouteRole;
}

let pki: TestPki;
let certApi: TestApi; // API_AUTH=mtls, client certificate required at the handshake
let tokenApi: TestApi; // API_AUTH=mtls+token, client certificate optional
let routes: Route[];
const agents: https.Agent[] = [];
/** Connections whose TLS handshake the server completed (its `secureConnection` events). */
let handshakesAccepted = 0;
const agent = (...a: Parameters<TestPki['agent']>) => {
  const ag = pki.agent(...a);
  agents.push(ag);
  return ag;
};

beforeAll(async () => {
  pki = await makeTestPki();
  certApi = await startTestApi(['amd64'], {
    listen: true,
    security: { mode: 'mtls', tls: pki.tls(true), ...BOUNDS },
  });
  tokenApi = await startTestApi(['amd64'], {
    listen: true,
    security: { mode: 'mtls+token', tls: pki.tls(false), ...BOUNDS },
  });
  certApi.app.server.on('secureConnection', () => (handshakesAccepted += 1));
  routes = [...certApi.app.routeRoles].map(([key, role]) => {
    const [method = '', url = ''] = key.split(' ');
    return { method, url, role };
  });
});
afterAll(async () => {
  for (const a of agents) a.destroy();
  await certApi?.close();
  await tokenApi?.close();
  await pki?.cleanup();
});

function call(api: TestApi, r: Route, opts: { agent?: https.Agent; token?: string } = {}) {
  return request(`${api.url}${concrete(r.url)}`, {
    method: r.method,
    agent: opts.agent,
    // As rnx does: body-less state-changing requests are refused without it (request-guards.ts).
    headers: {
      'x-joblet-request': '1',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
    body: r.method === 'POST' ? {} : undefined,
  });
}

const code = (res: RawResponse) =>
  res.body ? (JSON.parse(res.body) as { code?: string }).code : undefined;

/** What `role` should get on `r`: the outcome, and the 403 message when refused. */
function verdict(r: Route, res: RawResponse, role: Role): string | undefined {
  const label = `${r.method} ${r.url} as ${role}: ${res.status} ${res.body.slice(0, 160)}`;
  if (r.role === 'public' || roleSatisfies(role, r.role)) {
    return res.status === 401 || res.status === 403 || res.status >= 500 ? label : undefined;
  }
  if (res.status !== 403) return label;
  if (r.method === 'HEAD') return undefined; // no body to check
  const body = JSON.parse(res.body) as { code: string; message: string };
  const want = forbiddenMessage(role, r.role, r.method, r.url);
  return body.code === 'FORBIDDEN' && body.message === want
    ? undefined
    : `${label} (want "${want}")`;
}

describe('role × route matrix', () => {
  it('covers a sensible number of routes, each with a verb phrase for its 403 message', () => {
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes
      .filter((r) => r.role !== 'public' && !routeVerb(r.method, r.url))
      .map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
  });

  it('without credentials: 401 on every route but the public ones', async () => {
    const bad: string[] = [];
    const ag = agent();
    for (const r of routes) {
      const res = await call(tokenApi, r, { agent: ag });
      const want = r.role === 'public' ? 200 : 401;
      if (res.status !== want) bad.push(`${r.method} ${r.url}: ${res.status}`);
      else if (want === 401 && r.method !== 'HEAD') {
        expect(code(res)).toBe('UNAUTHENTICATED');
        expect(JSON.parse(res.body).message).toMatch(
          /^no credentials: present a client certificate/,
        );
      }
    }
    expect(bad).toEqual([]);
  });

  it.each(ROLES)(
    'with the %s client certificate: allowed or 403 per roleSatisfies',
    async (role) => {
      const ag = agent(pki.clients[role]);
      const bad: string[] = [];
      for (const r of routes) {
        const v = verdict(r, await call(certApi, r, { agent: ag }), role);
        if (v) bad.push(v);
      }
      expect(bad).toEqual([]);
    },
  );

  it.each(ROLES)(
    'with a %s token (no certificate): allowed or 403 per roleSatisfies',
    async (role) => {
      const admin = agent(pki.clients.admin);
      const created = await request(`${tokenApi.url}/v1/tokens`, {
        method: 'POST',
        agent: admin,
        body: { role, ttl: '1d', name: `matrix-${role}` },
      });
      expect(created.status).toBe(201);
      const { token } = JSON.parse(created.body) as { token: string };
      const ag = agent();
      const bad: string[] = [];
      for (const r of routes) {
        const v = verdict(r, await call(tokenApi, r, { agent: ag, token }), role);
        if (v) bad.push(v);
      }
      expect(bad).toEqual([]);
    },
  );

  it('with a revoked token: 401 (the one message every bad token gets), on every route but the public ones', async () => {
    const admin = agent(pki.clients.admin);
    const created = JSON.parse(
      (
        await request(`${tokenApi.url}/v1/tokens`, {
          method: 'POST',
          agent: admin,
          body: { role: 'admin', ttl: '1d' },
        })
      ).body,
    ) as { id: string; token: string };
    const del = await request(`${tokenApi.url}/v1/tokens/${created.id}`, {
      method: 'DELETE',
      agent: admin,
      headers: { 'x-joblet-request': '1' },
    });
    expect(JSON.parse(del.body)).toMatchObject({ id: created.id, state: 'revoked' });
    const ag = agent();
    const bad: string[] = [];
    for (const r of routes) {
      const res = await call(tokenApi, r, { agent: ag, token: created.token });
      if (r.role === 'public') continue;
      if (res.status !== 401) bad.push(`${r.method} ${r.url}: ${res.status}`);
      else if (r.method !== 'HEAD')
        expect(JSON.parse(res.body).message).toBe('invalid or expired token');
    }
    expect(bad).toEqual([]);
  });

  it('with an expired token: 401 (the one message every bad token gets), on every route but the public ones', async () => {
    const past = new TokenService(
      tokenApi.redis,
      new AuthKeys(tokenApi.prefix),
      () => Date.now() - 2 * DAY,
    );
    const { token } = await past.create(
      { role: 'admin', ttl: '1d' },
      { kind: 'local', subject: 'test', role: 'admin' },
    );
    const ag = agent();
    const bad: string[] = [];
    for (const r of routes) {
      const res = await call(tokenApi, r, { agent: ag, token });
      if (r.role === 'public') continue;
      if (res.status !== 401) bad.push(`${r.method} ${r.url}: ${res.status}`);
      else if (r.method !== 'HEAD')
        expect(JSON.parse(res.body).message).toBe('invalid or expired token');
    }
    expect(bad).toEqual([]);
  });

  it.each([
    ['an expired', (): KeyPair | undefined => pki.expired],
    ['a foreign-CA', (): KeyPair | undefined => pki.foreign],
    ['no', (): KeyPair | undefined => undefined],
  ] as const)('a client with %s certificate is refused at TLS, on every route', async (_, pair) => {
    const bad: string[] = [];
    for (const r of routes) {
      // A new connection per request: each is a handshake the server must refuse. The client
      // sees a TLS alert or a reset (Node's server drops a connection whose certificate does not
      // verify, without an alert), never an HTTP answer.
      const before = handshakesAccepted;
      const ag = agent(pair(), { keepAlive: false });
      const outcome = await call(certApi, r, { agent: ag }).then(
        (res) => `HTTP ${res.status}`,
        (e: NodeJS.ErrnoException) => e.code ?? e.message,
      );
      if (!/^(ERR_SSL_|ECONNRESET$)/.test(outcome) || handshakesAccepted !== before)
        bad.push(
          `${r.method} ${r.url}: client ${outcome}, accepted ${handshakesAccepted - before}`,
        );
    }
    expect(bad).toEqual([]);
  });

  it('the same clients with a valid certificate complete the handshake (the check above can fail)', async () => {
    const before = handshakesAccepted;
    const res = await call(certApi, routes[0]!, {
      agent: agent(pki.clients.reader, { keepAlive: false }),
    });
    expect(res.status).toBe(200);
    expect(handshakesAccepted).toBe(before + 1);
  });
});

describe('authentication details', () => {
  const runtimes: Route = { method: 'GET', url: '/v1/runtimes', role: 'reader' };
  const build: Route = { method: 'POST', url: '/v1/builds', role: 'maintainer' };

  it('says exactly what a developer may not do: build runtimes', async () => {
    const res = await call(certApi, build, { agent: agent(pki.clients.developer) });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({
      code: 'FORBIDDEN',
      message: 'role developer cannot build runtimes; maintainer required',
    });
  });

  it('when client certificates are optional, a bad one is a 401 naming the problem', async () => {
    const expired = await call(tokenApi, runtimes, { agent: agent(pki.expired) });
    expect(expired.status).toBe(401);
    expect(JSON.parse(expired.body).message).toBe('the client certificate has expired');
    const foreign = await call(tokenApi, runtimes, { agent: agent(pki.foreign) });
    expect(foreign.status).toBe(401);
    expect(JSON.parse(foreign.body).message).toMatch(/not signed by the farm’s CA/);
  });

  it('a certificate whose OU is not a role is refused', async () => {
    const odd = await issueLeaf({
      ca: pki.ca,
      out: { cert: join(pki.dir, 'odd.crt'), key: join(pki.dir, 'odd.key') },
      kind: 'client',
      cn: 'odd-client',
      ou: 'root',
      validity: { days: 1 },
    });
    const res = await call(certApi, runtimes, { agent: agent(odd) });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).message).toMatch(/OU \(root\) must be exactly one role/);
  });

  it('a token wins over the certificate that carried the connection; mtls-only servers refuse tokens', async () => {
    const admin = agent(pki.clients.admin);
    const { token } = JSON.parse(
      (
        await request(`${tokenApi.url}/v1/tokens`, {
          method: 'POST',
          agent: admin,
          body: { role: 'maintainer' },
        })
      ).body,
    ) as { token: string };
    const asReaderWithToken = await call(tokenApi, build, {
      agent: agent(pki.clients.reader),
      token,
    });
    expect(asReaderWithToken.status).toBe(400); // past auth: the empty body is refused
    const onCertApi = await call(certApi, runtimes, { agent: agent(pki.clients.admin), token });
    expect(onCertApi.status).toBe(401);
    expect(JSON.parse(onCertApi.body).message).toMatch(
      /does not accept API tokens \(API_AUTH=mtls\)/,
    );
    const mangled = await call(tokenApi, runtimes, {
      agent: agent(),
      token: `${token.slice(0, -1)}x`,
    });
    expect(mangled.status).toBe(401);
    expect(JSON.parse(mangled.body).message).toBe('invalid or expired token');
    expect(mangled.headers['www-authenticate']).toBe('Bearer');
  });

  it('speaks TLS 1.2 and 1.3, and nothing older', async () => {
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const res = await call(certApi, runtimes, {
        agent: agent(pki.clients.reader, { minVersion: v, maxVersion: v, keepAlive: false }),
      });
      expect(res.status).toBe(200);
    }
    const old = await call(certApi, runtimes, {
      agent: agent(pki.clients.reader, {
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        keepAlive: false,
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
    }).then(
      () => 'connected',
      (e: NodeJS.ErrnoException) => e.code ?? 'error',
    );
    expect(old).not.toBe('connected');
  });

  it('refuses TLS 1.2 renegotiation (it could swap the certificate under a connection)', async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: Number(new URL(certApi.url!).port),
      ca: readFileSync(pki.ca.cert),
      cert: readFileSync(pki.clients.reader.cert),
      key: readFileSync(pki.clients.reader.key),
      servername: 'localhost',
      maxVersion: 'TLSv1.2',
    });
    await once(socket, 'secureConnect');
    const outcome = await new Promise<string>((resolve) => {
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      socket.on('close', () => resolve('closed'));
      socket.renegotiate({ rejectUnauthorized: true }, (err) => {
        resolve(
          err ? `callback ${(err as NodeJS.ErrnoException).code ?? err.message}` : 'renegotiated',
        );
      });
      // The renegotiation handshake goes out with the next bytes.
      socket.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n');
    });
    socket.destroy();
    expect(outcome).not.toBe('renegotiated');
  });
});
