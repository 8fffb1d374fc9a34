/**
 * What keeps web pages out of a farm on this machine, through `app.inject()` over real Redis:
 * the Host check (DNS rebinding) and the rule that a state-changing request carries a header a
 * browser cannot send cross-origin without a preflight (forged form posts and body-less
 * `no-cors` POSTs: stop, cancel). Plus: a farm with `token` (the single-machine default) answers
 * 401 without one, and no CORS preflight is ever granted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '@joblet/spec';
import { hostPolicy } from '../auth/host-policy.js';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../testing.js';

const MARK = { 'x-joblet-request': '1' };

function jobRecord(id: string): JobRecord {
  return {
    id,
    state: 'QUEUED',
    command: 'sleep',
    args: ['100'],
    runtime: { ref: 'python-3.11', name: 'python-3.11', version: '1.0.0' },
    arch: 'amd64',
    network: 'none',
    limits: {},
    volumes: [],
    env: [],
    uploads: [],
    createdAt: new Date().toISOString(),
  };
}

describe('Host header (DNS rebinding)', () => {
  let loopback: TestApi; // listens on loopback (the default): loopback names only
  let listed: TestApi; // elsewhere, with API_ALLOWED_HOSTS=farm.example.com
  let open: TestApi; // elsewhere, no list: any name, as before
  beforeAll(async () => {
    loopback = await startTestApi(['amd64']);
    listed = await startTestApi(['amd64'], {
      security: { hosts: hostPolicy('0.0.0.0', ['farm.example.com']) },
    });
    open = await startTestApi(['amd64'], { security: { hosts: hostPolicy('0.0.0.0') } });
  });
  afterAll(async () => {
    await Promise.all([loopback?.close(), listed?.close(), open?.close()]);
  });
  const get = (t: TestApi, host: string, url = '/v1/runtimes') =>
    t.app.inject({ method: 'GET', url, headers: { host } });

  it('on loopback serves localhost, 127.0.0.1 and [::1] (with a port) and nothing else', async () => {
    for (const host of ['localhost:7070', '127.0.0.1:7070', '[::1]:7070', 'LOCALHOST', '127.0.0.1'])
      expect((await get(loopback, host)).statusCode, host).toBe(200);
    for (const host of ['evil.example:7070', 'evil.example', 'localhost.evil.example:7070']) {
      const res = await get(loopback, host);
      expect(res.statusCode, host).toBe(403);
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
      expect(res.json().message).toMatch(
        /^Host ".*" is not a name of this API \(it answers to localhost, 127\.0\.0\.1, \[::1\]\).*API_ALLOWED_HOSTS/,
      );
    }
    // Refused before anything else: a rebinding page learns nothing, not even liveness.
    expect((await get(loopback, 'evil.example:7070', '/healthz')).statusCode).toBe(403);
    const post = await loopback.app.inject({
      method: 'POST',
      url: '/v1/jobs/00000000-0000-4000-8000-000000000000/stop',
      headers: { host: 'evil.example:7070', ...MARK },
    });
    expect(post.statusCode).toBe(403);
  });

  it('elsewhere serves API_ALLOWED_HOSTS (and addresses, which cannot be re-pointed), or any name when it is empty', async () => {
    for (const host of ['farm.example.com:7070', 'FARM.example.com', '10.1.2.3:7070', '[fd00::5]'])
      expect((await get(listed, host)).statusCode, host).toBe(200);
    expect((await get(listed, 'localhost:7070')).statusCode).toBe(200); // a container's probe
    const refused = await get(listed, 'evil.example:7070');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toContain(
      '(it answers to localhost, 127.0.0.1, [::1], farm.example.com, IP addresses)',
    );
    expect((await get(open, 'anything.example:7070')).statusCode).toBe(200);
    // On loopback an address that is not loopback is no name of this API either.
    expect((await get(loopback, '10.1.2.3:7070')).statusCode).toBe(403);
  });
});

describe('state-changing requests need a header a browser cannot forge', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    await registerNode(t, 'node-a', 'amd64', ['python-3.11@1.0.0']);
  });
  afterAll(() => t?.close());

  it('refuses a body-less cross-origin-style POST to stop or cancel a job; rnx’s header passes', async () => {
    const job = jobRecord('77777777-7777-4777-8777-777777777777');
    await t.app.jobs.jobs.create(job);
    for (const action of ['stop', 'cancel']) {
      // What `fetch(url, { method: 'POST', mode: 'no-cors' })` or a <form> sends: no custom
      // header, at most a simple content type.
      for (const headers of [
        { origin: 'http://evil.example' },
        { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: 'null', 'content-type': 'text/plain' },
        { 'content-type': 'application/x-www-form-urlencoded' },
      ]) {
        const res = await t.app.inject({
          method: 'POST',
          url: `/v1/jobs/${job.id}/${action}`,
          headers,
        });
        expect(res.statusCode, `${action} ${JSON.stringify(headers)}`).toBe(403);
        expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
        expect(res.json().message).toMatch(/^POST requests need the header X-Joblet-Request: 1/);
      }
    }
    const still = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` });
    expect(still.json()).toMatchObject({ state: 'QUEUED' });

    const stopped = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${job.id}/stop`,
      headers: MARK,
    });
    expect(stopped.statusCode, stopped.body).toBe(200);
    expect(stopped.json()).toMatchObject({ state: 'STOPPED' });
  });

  it('refuses a simple-content-type body (a form post) and takes a JSON one', async () => {
    const body = JSON.stringify({ command: 'true', runtime: 'python-3.11' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: body,
        headers: { 'content-type': type },
      });
      expect(res.statusCode, type).toBe(403);
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/jobs' })).json().jobs).toHaveLength(1);
    const json = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: body,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(json.statusCode, json.body).toBe(202);
  });

  it('takes a same-origin request from a browser (Sec-Fetch-Site, which pages cannot set): Bull Board’s buttons', async () => {
    const job = jobRecord('88888888-8888-4888-8888-888888888888');
    await t.app.jobs.jobs.create(job);
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${job.id}/stop`,
      headers: { origin: 'http://127.0.0.1', 'sec-fetch-site': 'same-origin' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ state: 'STOPPED' });
  });

  it('DELETE without the header is refused too; GETs need nothing', async () => {
    const del = await t.app.inject({ method: 'DELETE', url: '/v1/volumes/nope' });
    expect(del.statusCode).toBe(403);
    expect(del.json().message).toMatch(/^DELETE requests need the header X-Joblet-Request/);
    const marked = await t.app.inject({ method: 'DELETE', url: '/v1/volumes/nope', headers: MARK });
    expect(marked.statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/v1/volumes' })).statusCode).toBe(200);
  });

  it('never grants a CORS preflight, nor exposes answers to other origins', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/jobs/77777777-7777-4777-8777-777777777777/stop',
      headers: {
        origin: 'http://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-joblet-request',
      },
    });
    expect(preflight.statusCode).toBeGreaterThanOrEqual(400);
    const get = await t.app.inject({
      method: 'GET',
      url: '/v1/jobs',
      headers: { origin: 'http://evil.example' },
    });
    for (const res of [preflight, get]) {
      const cors = Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
      expect(cors).toEqual([]);
    }
  });
});

describe('API_AUTH=token on loopback (what `rnx farm up` runs)', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64'], { security: { mode: 'token' } });
  });
  afterAll(() => t?.close());

  it('answers 401 without a token, even from a loopback name with the header', async () => {
    for (const [method, url] of [
      ['GET', '/v1/runtimes'],
      ['POST', '/v1/jobs/77777777-7777-4777-8777-777777777777/stop'],
      ['GET', '/v1/dashboard'],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: { host: '127.0.0.1:7070', ...MARK } });
      expect(res.statusCode, url).toBe(401);
      expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    // The dashboard's page itself is public (no data): it asks for a token.
    const page = await t.app.inject({ method: 'GET', url: '/ui' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('id="signin"');
  });
});
