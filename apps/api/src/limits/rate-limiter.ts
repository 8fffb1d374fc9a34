/**
 * Requests per client in fixed windows, counted in Redis (INCR + PEXPIRE in one round trip) so
 * that every replica shares the count and the API stays stateless. A fixed window lets a client
 * send up to twice the limit across a window boundary; that is accepted for a coarse guard
 * against floods, not a billing meter. It fails open: when Redis does not answer within
 * {@link RATE_LIMIT_TIMEOUT_MS} the request passes (as `skipOnError` does in @fastify/rate-limit),
 * so an outage of Redis does not also take down what can still answer (liveness, `/metrics` with
 * a client certificate).
 *
 * Why not @fastify/rate-limit (issue 17 asked): it limits per route in its own hook, while this
 * limiter is called from inside authentication — by identity once a request is authenticated, and
 * by source address for a failed authentication before its 401 (token guessing) — and its
 * `skipOnError` covers a store that errs, not one that hangs (ioredis queues commands while
 * Redis reconnects), which the 500 ms bound here does. The standard RateLimit-* headers it sends
 * are sent here too (auth.ts).
 */
import type { RedisClient } from '@joblet/queue';
import type { AuthKeys } from '../auth/auth-keys.js';

export interface RateLimit {
  /** Requests allowed per window; 0 turns the limiter off. */
  requests: number;
  windowS: number;
}

/** How long a request waits for the limiter's count before it passes uncounted (ms). */
export const RATE_LIMIT_TIMEOUT_MS = 500;

/**
 * The limit's state after a hit, for the RateLimit-Limit/-Remaining/-Reset headers
 * (draft-ietf-httpapi-ratelimit-headers, as @fastify/rate-limit sends them): requests left in the
 * window, seconds until it resets. Absent when the limiter is off or Redis did not answer.
 */
export interface RateState {
  limit: number;
  remaining: number;
  resetS: number;
}

export type RateVerdict =
  { ok: true; state?: RateState } | { ok: false; retryAfterS: number; state: RateState };

export class RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AuthKeys,
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limit.requests > 0;
  }

  async hit(client: string): Promise<RateVerdict> {
    if (!this.enabled) return { ok: true };
    const windowMs = this.limit.windowS * 1000;
    const now = this.now();
    const window = Math.floor(now / windowMs);
    const key = this.keys.rate(client, window);
    const count = await this.count(key, windowMs);
    if (count === undefined) return { ok: true };
    const resetS = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
    const state = {
      limit: this.limit.requests,
      remaining: Math.max(0, this.limit.requests - count),
      resetS,
    };
    if (count <= this.limit.requests) return { ok: true, state };
    return { ok: false, retryAfterS: resetS, state };
  }

  /** The window's count after this hit, or undefined when Redis did not answer in time. */
  private async count(key: string, windowMs: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), RATE_LIMIT_TIMEOUT_MS);
    });
    const counted = this.redis
      .multi()
      .incr(key)
      .pexpire(key, windowMs + 1000)
      .exec()
      .then((res) => Number(res?.[0]?.[1] ?? 0))
      .catch(() => undefined);
    try {
      return await Promise.race([counted, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
