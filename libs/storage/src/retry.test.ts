import { describe, expect, it } from 'vitest';

import { StorageError } from './errors.js';
import { withRetry } from './retry.js';

const transient = () => new StorageError('UNAVAILABLE', 'down', { retryable: true });

describe('withRetry', () => {
  it('retries retryable failures until success, with growing delays', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      (attempt) => {
        calls += 1;
        expect(attempt).toBe(calls);
        return calls < 4 ? Promise.reject(transient()) : Promise.resolve('ok');
      },
      { attempts: 5, baseMs: 10, onRetry: (_err, _attempt, ms) => delays.push(ms) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    // Each delay lies in [d/2, d] for d = 10, 20, 40.
    expect(delays).toHaveLength(3);
    [10, 20, 40].forEach((d, i) => {
      expect(delays[i]).toBeGreaterThanOrEqual(d / 2);
      expect(delays[i]).toBeLessThanOrEqual(d);
    });
  });

  it('does not retry errors that are not retryable', async () => {
    let calls = 0;
    const fatal = new StorageError('ACCESS_DENIED', 'no');
    await expect(
      withRetry(() => {
        calls += 1;
        return Promise.reject(fatal);
      }),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
    await expect(withRetry(() => Promise.reject(new Error('plain')))).rejects.toThrow('plain');
  });

  it('gives up after `attempts`, throwing the last failure', async () => {
    let calls = 0;
    const err = transient();
    await expect(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(err);
        },
        { attempts: 3, baseMs: 1 },
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(3);
  });

  it('caps delays at maxMs and honours a custom retryIf', async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetry(() => (++calls < 4 ? Promise.reject(new Error('flaky')) : Promise.resolve()), {
      baseMs: 1000,
      maxMs: 4,
      retryIf: () => true,
      onRetry: (_e, _a, ms) => delays.push(ms),
    });
    expect(Math.max(...delays)).toBeLessThanOrEqual(4);
  });

  it('stops waiting when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const run = withRetry(() => Promise.reject(transient()), {
      attempts: 10,
      baseMs: 10_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('shutting down')), 20);
    await expect(run).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
