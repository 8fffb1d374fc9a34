import { setTimeout as sleep } from 'node:timers/promises';

import { isRetryableError } from './errors.js';

export interface RetryOptions {
  /** Total attempts, including the first. Default 5. */
  attempts?: number;
  /** Delay before the first retry (ms); doubles each time. Default 200. */
  baseMs?: number;
  /** Upper bound of one delay (ms). Default 10 000. */
  maxMs?: number;
  /** Which errors to retry. Default: StorageErrors marked retryable. */
  retryIf?: (err: unknown) => boolean;
  /** Called before each wait, e.g. to log the failure. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops at once, rejecting with the signal's reason, when aborted. */
  signal?: AbortSignal;
}

/**
 * Runs `fn` until it succeeds, retrying retryable failures with exponential backoff and jitter
 * (each delay is drawn from [d/2, d] for d = baseMs·2^(n-1), capped at maxMs, so that many
 * workers failing together do not retry in lockstep). Other errors, and the last failure, are
 * thrown unchanged.
 *
 * `fn` gets the attempt number (1-based) and must be repeatable: for a put, create the body
 * stream inside `fn`, since a failed attempt consumed the previous one.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const baseMs = opts.baseMs ?? 200;
  const maxMs = opts.maxMs ?? 10_000;
  const retryIf = opts.retryIf ?? isRetryableError;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryIf(err)) throw err;
      const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      opts.onRetry?.(err, attempt, delayMs);
      try {
        await sleep(delayMs, undefined, opts.signal ? { signal: opts.signal } : undefined);
      } catch (abortError) {
        opts.signal?.throwIfAborted(); // the caller's reason rather than a generic AbortError
        throw abortError;
      }
    }
  }
}
