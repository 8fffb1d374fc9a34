/**
 * The readiness check behind `/readyz`: Redis PING and the store's `ensureReady`, each bounded by
 * a timeout. The route is public, so answers are cached for a second (a flood of probes costs
 * one check per second) and errors are reduced to a short code, never a URL or a credential.
 */
import type { ReadyResponse } from '@joblet/spec';
import type { RedisClient } from '@joblet/queue';
import type { ArtifactStore } from '@joblet/storage';

const TIMEOUT_MS = 2_000;
const CACHE_MS = 1_000;

type Check = ReadyResponse['checks']['redis'];

async function timed(what: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      what(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)),
          TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    const e = err as { code?: unknown; message?: string };
    const error = typeof e.code === 'string' ? e.code : (e.message ?? 'failed').slice(0, 80);
    return { ok: false, ms: Math.round(performance.now() - started), error };
  } finally {
    clearTimeout(timer);
  }
}

export function readiness(s: {
  redis: RedisClient;
  store: ArtifactStore;
}): () => Promise<ReadyResponse> {
  let last: { at: number; value: Promise<ReadyResponse> } | undefined;
  const check = async (): Promise<ReadyResponse> => {
    const [redis, store] = await Promise.all([
      timed(() => s.redis.ping()),
      timed(() => s.store.ensureReady()),
    ]);
    const down = [...(redis.ok ? [] : ['redis']), ...(store.ok ? [] : ['store'])];
    return { status: down.length ? 'unavailable' : 'ready', down, checks: { redis, store } };
  };
  return () => {
    const now = Date.now();
    if (!last || now - last.at > CACHE_MS) last = { at: now, value: check() };
    return last.value;
  };
}
