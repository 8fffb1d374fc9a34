import { describe, expect, it } from 'vitest';
import { CreateTokenRequest, TOKEN_PATTERN, parseTokenTtl } from './tokens.js';

describe('token contracts', () => {
  it.each([
    ['30d', 30 * 86_400],
    ['12h', 12 * 3600],
    ['90m', 90 * 60],
    ['30', undefined],
    ['1w', undefined],
    ['-1d', undefined],
    ['1.5d', undefined],
  ])('parseTokenTtl(%s) = %s', (s, want) => expect(parseTokenTtl(s)).toBe(want));

  it('defaults the lifetime to 30 days and bounds it to 1m..365d', () => {
    expect(CreateTokenRequest.parse({ role: 'reader' })).toEqual({ role: 'reader', ttl: '30d' });
    expect(CreateTokenRequest.safeParse({ role: 'reader', ttl: '365d' }).success).toBe(true);
    expect(CreateTokenRequest.safeParse({ role: 'reader', ttl: '366d' }).success).toBe(false);
    expect(CreateTokenRequest.safeParse({ role: 'reader', ttl: '0m' }).success).toBe(false);
  });

  it('matches the token format, whose id has no separator in it', () => {
    const token = `jrf_0123456789ab_${'A_-b'.repeat(10)}xyz`;
    expect(TOKEN_PATTERN.exec(token)?.slice(1)).toEqual([
      '0123456789ab',
      `${'A_-b'.repeat(10)}xyz`,
    ]);
    expect(TOKEN_PATTERN.test('jrf_0123456789ab_short')).toBe(false);
    expect(TOKEN_PATTERN.test(`jrf_0123456789AB_${'a'.repeat(43)}`)).toBe(false);
  });
});
