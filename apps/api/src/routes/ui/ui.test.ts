/**
 * The dashboard's files and data: `/ui` serves a small page that loads only its own script and
 * stylesheet (CSP), with ETags; `/v1/dashboard` gives runtimes, builds, jobs, nodes and pools in
 * one answer. (The page itself is driven in a real browser by test/ui/dashboard.browser.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';
import { findUiDir } from './index.js';

const SPEC = readFileSync(
  new URL('../../../../../examples/python-3.11/runtime.yaml', import.meta.url),
  'utf8',
);

describe('/ui and /v1/dashboard', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64']);
  });
  afterAll(() => t.close());

  it('serves the page, its script and stylesheet, with a CSP, ETags and 304s; small in total', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/ui' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script type="module" src="/ui/app.js">');
    let total = page.rawPayload.length;
    for (const [url, type] of [
      ['/ui/app.js', 'text/javascript; charset=utf-8'],
      ['/ui/app.css', 'text/css; charset=utf-8'],
    ] as const) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      total += res.rawPayload.length;
      const again = await t.app.inject({
        method: 'GET',
        url,
        headers: { 'if-none-match': String(res.headers.etag) },
      });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
    }
    expect(total).toBeLessThan(32 * 1024);
    expect((await t.app.inject({ method: 'GET', url: '/ui/' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/ui/nope.js' })).statusCode).toBe(404);
    expect(findUiDir()).toMatch(/src\/routes\/ui\/static\/$/);
  });

  it('/v1/dashboard has the farm in one answer', async () => {
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    await registerNode(t, 'node-a', 'amd64', ['python-3.11@1.0.0']);
    const build = await t.app.inject({
      method: 'POST',
      url: '/v1/builds',
      payload: { spec: SPEC.replace('version: 1.0.0', 'version: 1.1.0'), architectures: ['arm64'] },
    });
    expect(build.statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 1_100)); // past the view's one-second cache
    const res = await t.app.inject({ method: 'GET', url: '/v1/dashboard' });
    expect(res.statusCode).toBe(200);
    const d = res.json();
    expect(d.runtimes.map((r: { name: string }) => r.name)).toEqual(['python-3.11']);
    expect(d.builds[0]).toMatchObject({ id: build.json().build.id, state: 'queued' });
    expect(d.nodes[0]).toMatchObject({ name: 'node-a', online: true });
    expect(d.pools.find((p: { arch: string }) => p.arch === 'arm64')).toMatchObject({ waiting: 1 });
    expect(d.jobs).toEqual([]);
  });
});
