import { z } from 'zod';
import { Role } from './roles.js';

/**
 * API tokens for CI and scripts: `jrf_<id>_<secret>`. The id names the token (list, revoke); the
 * secret is 32 random bytes in base64url and is shown once, at creation. The server keeps only its
 * sha256.
 */
export const TOKEN_PREFIX = 'jrf';
/** Lowercase letters and digits, so the id never contains the `_` separator. */
export const TOKEN_ID_PATTERN = /^[a-z0-9]{12}$/;
/** The whole bearer token; the secret is base64url (43 characters for 32 bytes). */
export const TOKEN_PATTERN = /^jrf_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** Longest lifetime a token may be given: one year, in seconds. */
export const TOKEN_MAX_TTL_S = 365 * 24 * 3600;
/** Shortest: one minute. */
export const TOKEN_MIN_TTL_S = 60;

const TTL = /^(\d{1,6})(m|h|d)$/;
const UNIT_S = { m: 60, h: 3600, d: 86_400 } as const;

/** Seconds in a token lifetime such as `30d`, `12h` or `90m`; undefined when malformed. */
export function parseTokenTtl(s: string): number | undefined {
  const m = TTL.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_S[m[2] as keyof typeof UNIT_S];
}

export const TokenTtl = z
  .string()
  .max(16)
  .superRefine((s, ctx) => {
    const seconds = parseTokenTtl(s);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a lifetime: use e.g. 30d, 12h, 90m` });
    } else if (seconds < TOKEN_MIN_TTL_S || seconds > TOKEN_MAX_TTL_S) {
      ctx.addIssue({ code: 'custom', message: 'must be between 1m and 365d' });
    }
  });

export const TokenName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"');

export const CreateTokenRequest = z.strictObject({
  role: Role,
  ttl: TokenTtl.default('30d'),
  name: TokenName.optional(),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

/** A token as listed: everything but the secret (which the server does not have). */
export const TokenView = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  createdAt: z.string(),
  expiresAt: z.string(),
  /** The identity that created it, e.g. `cert:admin-client` or `token:ab12cd34ef56`. */
  createdBy: z.string(),
  revokedAt: z.string().optional(),
  state: z.enum(['active', 'expired', 'revoked']),
});
export type TokenView = z.infer<typeof TokenView>;

/** The one answer that carries the token itself. */
export const CreateTokenResponse = TokenView.extend({ token: z.string() });
export type CreateTokenResponse = z.infer<typeof CreateTokenResponse>;

export const ListTokensResponse = z.object({ tokens: z.array(TokenView) });
export type ListTokensResponse = z.infer<typeof ListTokensResponse>;

export const TokenIdParams = z.object({ id: z.string().regex(TOKEN_ID_PATTERN, 'a token id') });
export type TokenIdParams = z.infer<typeof TokenIdParams>;
