/**
 * Bull Board at /admin/queues: admin only through the same role check as every route (its
 * routes get `admin` from the scope they are registered in), errors in the API's format, and the
 * farm's queues — node queues included once a node registers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNode, startTestApi, type TestApi } from '../testing.js';
import { AuthKeys } from '../auth/auth-keys.js';
import { TokenService } from '../services/token-service.js';

describe('Bull Board', () => {
  let t: TestApi;
  let tokens: Record<'reader' | 'admin', string>;
  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64'], {
      security: { mode: 'token', rateLimit: { requests: 0, windowS: 10 } },
    });
    const svc = new TokenService(t.redis, new AuthKeys(t.prefix));
    const make = async (role: 'reader' | 'admin') =>
      (await svc.create({ role, ttl: '1d' }, { kind: 'local', subject: 'test', role: 'admin' }))
        .token;
    tokens = { reader: await make('reader'), admin: await make('admin') };
  });
  afterAll(() => t.close());

  const get = (url: string, token?: string) =>
    t.app.inject({
      method: 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('declares every one of its routes admin', () => {
    const board = [...t.app.routeRoles].filter(([k]) =>
      k.split(' ')[1]!.startsWith('/admin/queues'),
    );
    expect(board.length).toBeGreaterThan(10);
    expect(board.filter(([, role]) => role !== 'admin')).toEqual([]);
  });

  it('refuses readers and anonymous clients with the API’s own errors', async () => {
    const anon = await get('/admin/queues/api/queues');
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const reader = await get('/admin/queues', tokens.reader);
    expect(reader.statusCode).toBe(403);
    expect(reader.json()).toMatchObject({
      code: 'FORBIDDEN',
      message: 'role reader cannot use the queue dashboard (Bull Board); admin required',
    });
    expect(reader.body).not.toContain('stack');
    const asset = await get('/admin/queues/static/js/main.js', tokens.reader);
    expect(asset.statusCode).toBe(403);
  });

  it('shows admins the page and every farm queue, node queues included', async () => {
    await registerNode(t, 'node-a', 'amd64', []);
    const page = await get('/admin/queues', tokens.admin);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    // Nothing from the internet (air-gapped farms): the upstream page links Google's fonts.
    expect(page.body).toContain('<script');
    expect(page.body).not.toMatch(/(href|src)="(https?:)?\/\//);
    const res = await get('/admin/queues/api/queues', tokens.admin);
    expect(res.statusCode).toBe(200);
    const names = res.json().queues.map((q: { name: string }) => q.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'build-amd64',
        'build-arm64',
        'publish',
        'jobs-amd64',
        'jobs-arm64',
        'node-node-a',
      ]),
    );
  });
});
