/** `/v1/tokens` through `app.inject()`, against real Redis: shown once, stored as a hash. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../testing.js';

/** What rnx sends with every request; body-less POST/DELETE are refused without it. */
const MARK = { 'x-joblet-request': '1' };

describe('/v1/tokens', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
  });
  afterAll(() => t.close());

  const create = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/tokens', payload });

  it('returns the token once; Redis holds only the sha256 of its secret; the list has no secrets', async () => {
    const res = await create({ role: 'maintainer', ttl: '30d', name: 'ci' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({
      role: 'maintainer',
      name: 'ci',
      state: 'active',
      createdBy: 'local:local',
    });
    expect(body.token).toMatch(new RegExp(`^jrf_${body.id}_[A-Za-z0-9_-]{43}$`));
    const days = (Date.parse(body.expiresAt) - Date.parse(body.createdAt)) / 86_400_000;
    expect(days).toBe(30);

    const secret = body.token.split('_').slice(2).join('_');
    const stored = await t.redis.hgetall(`${t.prefix}:token:${body.id}`);
    expect(stored.hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(await t.redis.pttl(`${t.prefix}:token:${body.id}`)).toBeGreaterThan(30 * 86_400_000);

    const list = await t.app.inject({ method: 'GET', url: '/v1/tokens' });
    expect(list.body).not.toContain(secret);
    expect(list.body).not.toContain(stored.hash);
    expect(list.json().tokens).toContainEqual(
      expect.objectContaining({ id: body.id, name: 'ci', role: 'maintainer', state: 'active' }),
    );
  });

  it('revokes: the record says so, a second revoke keeps the first time, unknown ids are 404', async () => {
    const { id } = (await create({ role: 'reader' })).json();
    const first = await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: MARK });
    expect(first.json()).toMatchObject({ id, state: 'revoked', revokedAt: expect.any(String) });
    const again = await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: MARK });
    expect(again.json().revokedAt).toBe(first.json().revokedAt);
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/v1/tokens/000000000000', headers: MARK }))
        .statusCode,
    ).toBe(404);
    const bad = await t.app.inject({
      method: 'DELETE',
      url: '/v1/tokens/..%2F..%2Fetc',
      headers: MARK,
    });
    expect(bad.statusCode).toBe(400);
  });

  it.each([
    [{ role: 'root' }, /role/],
    [{ role: 'reader', ttl: '366d' }, /ttl: must be between 1m and 365d/],
    [{ role: 'reader', ttl: '30' }, /ttl: "30" is not a lifetime: use e\.g\. 30d, 12h, 90m/],
    [{ role: 'reader', ttl: '30s' }, /ttl/],
    [{ role: 'reader', name: 'a b' }, /name/],
    [{ role: 'reader', extra: 1 }, /extra|unrecognized/i],
  ])('refuses %j with a 400 naming the field', async (payload, message) => {
    const res = await create(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(message);
  });
});
