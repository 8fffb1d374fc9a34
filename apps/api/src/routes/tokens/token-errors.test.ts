/**
 * Bad tokens all look alike to the client: through the real API (`API_AUTH=token`) over real
 * Redis, an unknown id, a wrong secret, a revoked, an expired and a malformed token get the same
 * 401 — nothing tells which token ids exist. The reason is in the server's log only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthKeys } from '../../auth/auth-keys.js';
import {
  TOKEN_REJECTED_MESSAGE,
  TokenRejected,
  TokenService,
} from '../../services/token-service.js';
import { startTestApi, type TestApi } from '../../testing.js';

const LOCAL = { kind: 'local', subject: 'test', role: 'admin' } as const;
const DAY_MS = 86_400_000;

describe('token errors', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64'], { security: { mode: 'token' } });
  });
  afterAll(() => t.close());

  const get = (token: string) =>
    t.app.inject({
      method: 'GET',
      url: '/v1/runtimes',
      headers: { authorization: `Bearer ${token}` },
    });

  async function badTokens(): Promise<Record<string, string>> {
    const live = await t.app.tokens.create({ role: 'reader', ttl: '1d' }, LOCAL);
    const revoked = await t.app.tokens.create({ role: 'reader', ttl: '1d' }, LOCAL);
    await t.app.tokens.revoke(revoked.id, LOCAL);
    const past = new TokenService(t.redis, new AuthKeys(t.prefix), () => Date.now() - 2 * DAY_MS);
    const expired = await past.create({ role: 'reader', ttl: '1d' }, LOCAL);
    const secret = live.token.split('_').slice(2).join('_');
    return {
      unknownId: `jrf_${'0'.repeat(12)}_${secret}`,
      wrongSecret: `${live.token.slice(0, -2)}xx`,
      revoked: revoked.token,
      expired: expired.token,
      malformed: 'jrf_nonsense',
    };
  }

  it('answers every bad token with the same 401 body; a good one passes', async () => {
    const bodies = new Set<string>();
    for (const [what, token] of Object.entries(await badTokens())) {
      const res = await get(token);
      expect(res.statusCode, what).toBe(401);
      const { code, message } = res.json();
      expect({ code, message }, what).toEqual({
        code: 'UNAUTHENTICATED',
        message: 'invalid or expired token',
      });
      expect(res.headers['www-authenticate'], what).toBe('Bearer');
      bodies.add(JSON.stringify({ code, message, details: res.json().details }));
    }
    expect(bodies.size).toBe(1);
    const good = await t.app.tokens.create({ role: 'reader', ttl: '1d' }, LOCAL);
    expect((await get(good.token)).statusCode).toBe(200);
  });

  it('logs the reason server-side, with the token id and never the secret', async () => {
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const logged = new TokenService(t.redis, new AuthKeys(t.prefix), Date.now, {
      info: (fields, msg) => lines.push({ fields: fields as Record<string, unknown>, msg }),
    });
    const tokens = await badTokens();
    for (const token of Object.values(tokens)) {
      const err = await logged.verify(token).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenRejected);
      expect((err as Error).message).toBe(TOKEN_REJECTED_MESSAGE);
    }
    const id = (token: string) => token.split('_')[1];
    expect(lines.map((l) => l.msg)).toEqual(Array(5).fill('token rejected'));
    expect(lines.map((l) => l.fields)).toEqual([
      { tokenId: '000000000000', reason: 'unknown token id' },
      { tokenId: id(tokens.wrongSecret!), reason: 'wrong secret' },
      { tokenId: id(tokens.revoked!), reason: expect.stringMatching(/^revoked at /) },
      { tokenId: id(tokens.expired!), reason: expect.stringMatching(/^expired at /) },
      { tokenId: undefined, reason: 'malformed: expected jrf_<id>_<secret>' },
    ]);
    const secret = (token: string) => token.split('_').slice(2).join('_');
    expect(JSON.stringify(lines)).not.toContain(secret(tokens.wrongSecret!));
  });
});
