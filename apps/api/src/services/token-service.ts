/**
 * API tokens in Redis. Only a hash of each secret is stored. The secret is 32 bytes from the CSPRNG
 * (256 bits), so a plain sha256 is enough: a slow KDF (bcrypt, scrypt) protects low-entropy
 * passwords from guessing, and nothing can guess 256 random bits — while every request pays for
 * the check, so it must be fast. Comparison is constant-time.
 *
 * Every replica reads the same records, so a revocation takes effect on the next request anywhere.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '@joblet/queue';
import {
  TOKEN_PATTERN,
  TOKEN_PREFIX,
  parseTokenTtl,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type Role,
  type TokenView,
} from '@joblet/spec';
import type { AuthKeys } from '../auth/auth-keys.js';
import type { Identity } from '../auth/identity.js';
import { ApiError } from '../plugins/errors.js';

/** A record outlives its expiry by this long, so that the log says "expired", not "unknown". */
const RETAIN_AFTER_EXPIRY_MS = 7 * 24 * 3600 * 1000;
/** Live tokens at most; an admin revokes old ones to make room. */
export const MAX_TOKENS = 1000;

/**
 * What a client hears for every token that is not accepted — unknown id, wrong secret, revoked,
 * expired or malformed alike — so that answers never tell which token ids exist. The reason is
 * logged here, server-side only.
 */
export const TOKEN_REJECTED_MESSAGE = 'invalid or expired token';

/** A token was not accepted; the auth plugin answers 401 with the (uniform) message. */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
  readonly code = 'TOKEN_REJECTED';
  constructor() {
    super(TOKEN_REJECTED_MESSAGE);
  }
}

/** Where the reason a token was rejected goes (the API's logger). */
export interface TokenLog {
  info(fields: object, msg: string): void;
}

interface TokenRecord {
  hash: string;
  role: Role;
  name: string;
  createdAt: string;
  expiresAt: string;
  createdBy: string;
  revokedAt?: string;
  revokedBy?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class TokenService {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AuthKeys,
    private readonly now: () => number = Date.now,
    private readonly log?: TokenLog,
  ) {}

  async create(req: CreateTokenRequest, createdBy: Identity): Promise<CreateTokenResponse> {
    if ((await this.redis.scard(this.keys.tokens)) >= MAX_TOKENS) {
      await this.list(); // prunes records that have gone
      if ((await this.redis.scard(this.keys.tokens)) >= MAX_TOKENS)
        throw new ApiError(409, 'CONFLICT', `${MAX_TOKENS} tokens exist; revoke some first`);
    }
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const ttlS = parseTokenTtl(req.ttl) ?? 0;
    const now = this.now();
    const record: TokenRecord = {
      hash: sha256(secret).toString('hex'),
      role: req.role,
      name: req.name ?? id,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlS * 1000).toISOString(),
      createdBy: `${createdBy.kind}:${createdBy.subject}`,
    };
    const key = this.keys.token(id);
    await this.redis
      .multi()
      .hset(key, { ...record })
      .pexpireat(key, now + ttlS * 1000 + RETAIN_AFTER_EXPIRY_MS)
      .sadd(this.keys.tokens, id)
      .exec();
    return { ...view(id, record, now), token: `${TOKEN_PREFIX}_${id}_${secret}` };
  }

  async list(): Promise<TokenView[]> {
    const ids = await this.redis.smembers(this.keys.tokens);
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.keys.token(id));
    const rows = (await pipe.exec()) ?? [];
    const now = this.now();
    const out: TokenView[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const rec = rows[i]?.[1] as Partial<TokenRecord> | undefined;
      if (rec?.hash) out.push(view(id, rec as TokenRecord, now));
      else gone.push(id);
    });
    if (gone.length) await this.redis.srem(this.keys.tokens, ...gone);
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async revoke(id: string, by: Identity): Promise<TokenView> {
    const key = this.keys.token(id);
    const rec = (await this.redis.hgetall(key)) as Partial<TokenRecord>;
    if (!rec.hash) throw new ApiError(404, 'NOT_FOUND', `token not found: ${id}`);
    if (!rec.revokedAt) {
      rec.revokedAt = new Date(this.now()).toISOString();
      rec.revokedBy = `${by.kind}:${by.subject}`;
      await this.redis.hset(key, { revokedAt: rec.revokedAt, revokedBy: rec.revokedBy });
    }
    return view(id, rec as TokenRecord, this.now());
  }

  /**
   * The identity a bearer token proves, or TokenRejected — with the same message whatever the
   * reason; the reason (and the token id, never the secret) goes to the server's log.
   */
  async verify(token: string): Promise<Identity> {
    const reject = (reason: string, tokenId?: string): never => {
      this.log?.info({ tokenId, reason }, 'token rejected');
      throw new TokenRejected();
    };
    const m = TOKEN_PATTERN.exec(token);
    if (!m) return reject(`malformed: expected ${TOKEN_PREFIX}_<id>_<secret>`);
    const [, id = '', secret = ''] = m;
    const rec = (await this.redis.hgetall(this.keys.token(id))) as Partial<TokenRecord>;
    // An unknown id costs the same hash and comparison as a wrong secret.
    const stored = rec.hash ? Buffer.from(rec.hash, 'hex') : UNKNOWN_HASH;
    const matches = stored.length === 32 && timingSafeEqual(sha256(secret), stored);
    if (!rec.hash) return reject('unknown token id', id);
    if (!matches) return reject('wrong secret', id);
    if (rec.revokedAt) return reject(`revoked at ${rec.revokedAt}`, id);
    if (Date.parse(rec.expiresAt ?? '') <= this.now())
      return reject(`expired at ${rec.expiresAt}`, id);
    return { kind: 'token', subject: id, role: rec.role as Role };
  }
}

/** Compared against when the id is unknown, so that case takes as long as a wrong secret. */
const UNKNOWN_HASH = Buffer.alloc(32);

function view(id: string, r: TokenRecord, now: number): TokenView {
  const state = r.revokedAt ? 'revoked' : Date.parse(r.expiresAt) <= now ? 'expired' : 'active';
  return {
    id,
    name: r.name,
    role: r.role,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    createdBy: r.createdBy,
    ...(r.revokedAt ? { revokedAt: r.revokedAt } : {}),
    state,
  };
}
