/**
 * Writes that must land: a step retried for as long as Redis is unreachable (a restart, a
 * failover, a network blip), never given up. ioredis fails a command after `maxRetriesPerRequest`
 * reconnection attempts (~0.3 s with our settings), so a 1.5 s Redis restart is enough to lose a
 * job's final state; here such failures are told apart from real errors (a bad script, a bad
 * record), which are thrown at once.
 */

/** Replies Redis gives while it cannot serve yet (loading its AOF, a failover in progress). */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/** Socket-level codes of a connection that went away. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What ioredis says when it gave up on a command because the connection was down. */
const TRANSIENT_MESSAGES =
  /max retries per request|Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Command timed out|All sentinels are unreachable|Failed to refresh slots cache/i;

/**
 * True when `err` says Redis could not be reached (or could not serve yet), so the same command
 * may well succeed later; false for an answer Redis gave (a script error, a wrong type) and for
 * errors that are not Redis's at all.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return TRANSIENT_REPLIES.test(err.message);
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  return TRANSIENT_MESSAGES.test(err.message);
}

export interface UntilRedisAnswersOptions {
  /** Called before each wait, with the attempt number (1 = the first failure) and the error. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  /** First wait in ms (doubled each time). Default 100. */
  firstWaitMs?: number;
  /** Longest wait between attempts in ms. Default 2000: a Redis back is used within 2 s. */
  maxWaitMs?: number;
  /** Stops retrying (the last error is thrown) once this returns true, e.g. at a hard shutdown. */
  giveUp?: () => boolean;
}

/**
 * Runs `step` until it succeeds. While Redis is unreachable ({@link isRedisUnavailable}) it waits
 * (exponential backoff up to `maxWaitMs`) and tries again, without limit; any other error is
 * thrown at once. `step` must be safe to repeat: it may have taken effect before the connection
 * dropped (use compare-and-set writes, or idempotent ones).
 */
export async function untilRedisAnswers<T>(
  step: () => Promise<T>,
  o: UntilRedisAnswersOptions = {},
): Promise<T> {
  const first = o.firstWaitMs ?? 100;
  const max = o.maxWaitMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isRedisUnavailable(err) || o.giveUp?.()) throw err;
      const waitMs = Math.min(max, first * 2 ** Math.min(attempt - 1, 16));
      o.onRetry?.(err, attempt, waitMs);
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}
