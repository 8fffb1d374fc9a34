/**
 * Job networks at the API, over real Redis: the farm's default network (API_DEFAULT_NETWORK)
 * applies to jobs that name none, `isolated` and its alias `egress` and `bridge` are accepted,
 * a custom network must exist, and creating or removing networks needs the developer role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '@joblet/spec';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

describe('job networks', () => {
  let t: TestApi;
  const tokens = {} as Record<Role, string>;
  beforeAll(async () => {
    t = await startTestApi(['amd64'], { security: { mode: 'token' }, defaultNetwork: 'isolated' });
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    await registerNode(t, 'n1', 'amd64', []);
    for (const role of ['reader', 'developer'] as const) {
      const created = await t.app.tokens.create(
        { role, ttl: '1d' },
        { kind: 'local', subject: 'test', role: 'admin' },
      );
      tokens[role] = created.token;
    }
  });
  afterAll(async () => {
    await t.close();
  });

  const call = (role: Role, method: 'POST' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${tokens[role]}`, 'x-joblet-request': '1' },
      ...(payload && { payload }),
    });
  const submit = (payload: Record<string, unknown>) =>
    call('developer', 'POST', '/v1/jobs', { command: 'true', runtime: 'python-3.11', ...payload });

  it("a job naming no network gets the farm's default; built-in names are accepted", async () => {
    const res = await submit({});
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ network: 'isolated' });
    for (const network of ['none', 'isolated', 'egress', 'bridge']) {
      const r = await submit({ network });
      expect(r.statusCode, network).toBe(202);
      expect(r.json()).toMatchObject({ network });
    }
  });

  it('a custom network must exist; readers cannot create one', async () => {
    const missing = await submit({ network: 'prod' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({
      details: [{ field: 'network', message: 'no network prod' }],
    });
    const bad = await submit({ network: 'Prod!' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toMatch(/network/);

    const byReader = await call('reader', 'POST', '/v1/networks', {
      name: 'prod',
      cidr: '10.10.0.0/24',
    });
    expect(byReader.statusCode).toBe(403);
    const created = await call('developer', 'POST', '/v1/networks', {
      name: 'prod',
      cidr: '10.10.0.0/24',
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'prod', cidr: '10.10.0.0/24', builtin: false });
    expect((await submit({ network: 'prod' })).json()).toMatchObject({ network: 'prod' });

    const reserved = await call('developer', 'POST', '/v1/networks', {
      name: 'loop',
      cidr: '127.0.0.0/16',
    });
    expect(reserved.statusCode).toBe(400);
    expect(JSON.stringify(reserved.json())).toMatch(/must not overlap 127\.0\.0\.0\/8/);
    expect((await call('developer', 'DELETE', '/v1/networks/prod')).statusCode).toBe(200);
    expect((await submit({ network: 'prod' })).statusCode).toBe(400);
  });
});
